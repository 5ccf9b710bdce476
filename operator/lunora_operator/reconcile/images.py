"""The image step's edge: a `build` image becomes a pushed, content-tagged reference in the app's
registry, with short-lived push credentials from the Cloudflare layer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.clock import Clock
from lunora_operator.cloudflare import AccountClient
from lunora_operator.images import CredentialsProvider, ImagePipeline, RegistryAuth, target_repository
from lunora_operator.images.reference import DEFAULT_REGISTRY
from lunora_operator.kube.gateway import Kube
from lunora_operator.reconcile.container import ResolvedImage
from lunora_operator.reconcile.errors import Stalled, Waiting

logger = logging.getLogger(__name__)
# Cloudflare's push credentials last 15 minutes; reuse them for 10 so a resync asks for none.
CREDENTIALS_REUSE_SECONDS = 600.0


@dataclass(frozen=True)
class _Cached:
    auth: RegistryAuth
    until: float


class PipelineImageResolver:
    """Builds and pushes with the image pipeline; its errors (ImageError) and the Cloudflare
    layer's (minting credentials) reach the step runner as they are."""

    def __init__(self, pipeline: ImagePipeline, kube: Kube, clock: Clock) -> None:
        self.pipeline = pipeline
        self.kube = kube
        self.clock = clock
        self._credentials: dict[tuple[str, str], _Cached] = {}

    def _provider(self, account: AccountClient, account_id: str, registry: str) -> CredentialsProvider:
        async def credentials() -> RegistryAuth:
            key = (account_id, registry)
            cached = self._credentials.get(key)
            if cached is not None and cached.until > self.clock.monotonic():
                return cached.auth
            minted = await account.registry.credentials(registry)
            auth = RegistryAuth(minted.username, minted.password)
            self._credentials[key] = _Cached(auth, self.clock.monotonic() + CREDENTIALS_REUSE_SECONDS)
            return auth

        return credentials

    async def resolve(
        self, container: LunoraContainer, app: LunoraApp, names: ContainerNames, account: AccountClient
    ) -> ResolvedImage:
        build = container.spec.image.build
        assert build is not None
        assert app.spec.cloudflare is not None
        registry = app.spec.cloudflare.registry or DEFAULT_REGISTRY
        account_id = app.spec.cloudflare.account_id
        files = None
        if build.context.config_map is not None:
            namespace = container.metadata.namespace or "default"
            name = build.context.config_map.name
            found = await self.kube.config_map(namespace, name)
            if found is None:
                raise Waiting("ConfigMapNotFound", f'build context: ConfigMap "{namespace}/{name}" not found')
            files = {**{k: v.encode() for k, v in found.data.items()}, **found.binary_data}
        try:
            repository = target_repository(registry, account_id, names.application_name)
            built = await self.pipeline.ensure_image(
                build,
                repository,
                self._provider(account, account_id, registry),
                config_map_files=files,
                logger=logger,
            )
        except ValueError as error:
            raise Stalled("InvalidImage", str(error)) from None
        return ResolvedImage(reference=built.reference, digest=built.digest, pushed=built.pushed)
