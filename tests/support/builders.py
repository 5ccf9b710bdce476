"""Small builders for resources used across tests."""

from __future__ import annotations

from typing import Any

from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.api.validation import validate_resource
from lunora_operator.wrangler.desired import DesiredContainer, desired_container


def container(name: str, app: str = "demo", **spec: Any) -> LunoraContainer:
    spec.setdefault("image", {"registry": f"docker.io/acme/{name}:1.0"})
    document = {
        "apiVersion": "lunora.sh/v1alpha1",
        "kind": "LunoraContainer",
        "metadata": {"name": name},
        "spec": {"app": app, **spec},
    }
    resource = validate_resource(document)
    assert isinstance(resource, LunoraContainer)
    return resource


def local_app(name: str = "demo") -> LunoraApp:
    """A local-mode app: the smallest that renders (no Cloudflare account)."""
    document = {
        "apiVersion": "lunora.sh/v1alpha1",
        "kind": "LunoraApp",
        "metadata": {"name": name},
        "spec": {"workerName": name, "mode": "local"},
    }
    resource = validate_resource(document)
    assert isinstance(resource, LunoraApp)
    return resource


def desired(name: str, worker: str = "demo", **spec: Any) -> DesiredContainer:
    return desired_container(container(name, **spec), worker)
