"""Built images in local mode: pushed to `<local.registry>/<namespace>/<application name>` with
the pull Secret's credentials for that registry (the ones every instance Pod pulls with), never
with Cloudflare's; what is missing or wrong is named."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.images import BuiltImage, RegistryAuth
from lunora_operator.reconcile.errors import Stalled, Waiting
from lunora_operator.reconcile.local_images import LocalImageResolver
from tests.support.local_control import local_app_body
from tests.support.reconcile import NAMESPACE, MemoryKube, container_body

REGISTRY = "127.0.0.1:15000"


@dataclass
class RecordingPipeline:
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def ensure_image(self, build: Any, repository: str, credentials: Any, **kwargs: Any) -> BuiltImage:
        self.calls.append({"repository": repository, "auth": await credentials(), **kwargs})
        return BuiltImage(repository, "ctx-1", "sha256:" + "b" * 64, built=True, pushed=True)


def pull_secret(kube: MemoryKube, auths: dict[str, Any]) -> None:
    kube.put_secret("registry", {".dockerconfigjson": json.dumps({"auths": auths})})


def resources(**local: Any) -> tuple[LunoraContainer, LunoraApp]:
    app = LunoraApp.model_validate(local_app_body(local=local))
    body = container_body("echo", image={"build": {"context": {"configMap": {"name": "echo-context"}}}})
    return LunoraContainer.model_validate(body), app


async def resolve(kube: MemoryKube, pipeline: RecordingPipeline, **local: Any) -> Any:
    container, app = resources(**local)
    resolver = LocalImageResolver(pipeline, kube)  # type: ignore[arg-type]
    return await resolver.resolve(container, app, container.names_in(app))


async def test_pushed_with_the_pull_secrets_credentials_to_the_apps_registry() -> None:
    kube, pipeline = MemoryKube(), RecordingPipeline()
    kube.put_config_map("echo-context", {"Dockerfile": "FROM scratch\n"})
    pull_secret(kube, {REGISTRY: {"auth": base64.b64encode(b"lunora:secret").decode()}})

    image = await resolve(kube, pipeline, registry=REGISTRY, pullSecret="registry")

    (call,) = pipeline.calls
    assert call["repository"] == f"{REGISTRY}/{NAMESPACE}/demo-echocontainer"
    assert call["auth"] == RegistryAuth("lunora", "secret")
    assert call["config_map_files"] == {"Dockerfile": b"FROM scratch\n"}
    assert (image.reference, image.pushed) == (f"{REGISTRY}/{NAMESPACE}/demo-echocontainer:ctx-1", True)


async def test_without_a_pull_secret_the_push_is_anonymous() -> None:
    kube, pipeline = MemoryKube(), RecordingPipeline()
    kube.put_config_map("echo-context", {"Dockerfile": "FROM scratch\n"})
    await resolve(kube, pipeline, registry="localhost:5001")
    assert pipeline.calls[0]["auth"] == RegistryAuth("", "")


async def test_no_registry_stalls_naming_the_field() -> None:
    with pytest.raises(Stalled, match=r"sets no `local\.registry`") as stalled:
        await resolve(MemoryKube(), RecordingPipeline())
    assert stalled.value.reason == "LocalRegistryNotSet"


async def test_a_missing_pull_secret_is_waited_for() -> None:
    kube = MemoryKube()
    kube.put_config_map("echo-context", {"Dockerfile": "FROM scratch\n"})
    with pytest.raises(Waiting) as waiting:
        await resolve(kube, RecordingPipeline(), registry=REGISTRY, pullSecret="registry")
    assert waiting.value.reason == "PullSecretNotFound"
    assert f'Secret "{NAMESPACE}/registry" not found' in waiting.value.message


async def test_a_pull_secret_for_another_registry_stalls_saying_how_to_make_one() -> None:
    kube = MemoryKube()
    kube.put_config_map("echo-context", {"Dockerfile": "FROM scratch\n"})
    pull_secret(kube, {"other:1": {"auth": base64.b64encode(b"u:p").decode()}})
    with pytest.raises(Stalled) as stalled:
        await resolve(kube, RecordingPipeline(), registry=REGISTRY, pullSecret="registry")
    assert stalled.value.reason == "PullSecretInvalid"
    assert f"holds no credentials for {REGISTRY}" in stalled.value.message
    assert "kubectl create secret docker-registry registry" in stalled.value.message
    assert "u:p" not in stalled.value.message
