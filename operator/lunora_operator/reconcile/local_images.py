"""The image step's edge in local mode: a `build` image is built from its context, tagged by
content, and pushed to the app's `local.registry` (where the cluster pulls from) with the
credentials of its `local.pullSecret`, the Secret every instance Pod pulls with. No Cloudflare
call: nothing is minted, the Secret's credentials push and pull alike."""

from __future__ import annotations

import logging

from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.images import ImagePipeline, RegistryAuth, repository_name
from lunora_operator.images.docker_config import DockerConfigInvalid, credentials_for, registry_host
from lunora_operator.kube.gateway import Kube, ReferenceMissing
from lunora_operator.reconcile.container import ResolvedImage
from lunora_operator.reconcile.errors import Stalled, Waiting
from lunora_operator.reconcile.images import context_files

logger = logging.getLogger(__name__)
DOCKER_CONFIG_KEY = ".dockerconfigjson"
ANONYMOUS = RegistryAuth("", "")


def local_repository(registry: str, namespace: str, names: ContainerNames) -> str:
    """`<local.registry>/<namespace>/<application name>`: one repository per container."""
    return f"{registry.rstrip('/')}/{namespace}/{repository_name(names.application_name)}"


class LocalImageResolver:
    def __init__(self, pipeline: ImagePipeline, kube: Kube) -> None:
        self.pipeline = pipeline
        self.kube = kube

    async def _auth(self, app: LunoraApp, registry: str) -> RegistryAuth:
        secret = app.spec.local.pull_secret
        if secret is None:
            return ANONYMOUS  # a registry that takes anonymous pushes, as kind's local registry does
        namespace = app.metadata.namespace or "default"
        where = f'local.pullSecret: Secret "{namespace}/{secret}"'
        try:
            text = await self.kube.secret_value(namespace, secret, DOCKER_CONFIG_KEY)
        except ReferenceMissing as missing:
            raise Waiting(
                "PullSecretNotFound", f"local.pullSecret: {missing}; create it and the container continues"
            ) from None
        try:
            auth = credentials_for(text, registry)
        except DockerConfigInvalid as problem:
            raise Stalled("PullSecretInvalid", f"{where} key {DOCKER_CONFIG_KEY} {problem}") from None
        if auth is None:
            raise Stalled(
                "PullSecretInvalid",
                f"{where} holds no credentials for {registry_host(registry)}: create it with "
                f"`kubectl create secret docker-registry {secret} --docker-server={registry_host(registry)} …`",
            )
        return auth

    async def resolve(
        self, container: LunoraContainer, app: LunoraApp, names: ContainerNames
    ) -> ResolvedImage:
        build = container.spec.image.build
        assert build is not None
        registry = app.spec.local.registry
        if registry is None:
            raise Stalled(
                "LocalRegistryNotSet",
                f'LunoraApp "{app.metadata.name}" sets no `local.registry`: set the registry the cluster '
                "pulls built images from (kind's local registry: localhost:5001)",
            )
        files = await context_files(self.kube, container)
        auth = await self._auth(app, registry)

        async def credentials() -> RegistryAuth:
            return auth

        namespace = container.metadata.namespace or "default"
        try:
            built = await self.pipeline.ensure_image(
                build,
                local_repository(registry, namespace, names),
                credentials,
                config_map_files=files,
                logger=logger,
            )
        except ValueError as error:
            raise Stalled("InvalidImage", str(error)) from None
        return ResolvedImage(reference=built.reference, digest=built.digest, pushed=built.pushed)
