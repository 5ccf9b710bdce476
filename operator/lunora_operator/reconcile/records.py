"""What the operator keeps in memory about each resource: a small, immutable copy of the parts the
reconcilers read (kopf's indexes hold these, keyed by namespace and app)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.api.validation import ResourceInvalid, validate_resource

AppKey = tuple[str, str]
"""(namespace, app name)."""
REQUESTED_AT = "reconcile.lunora.sh/requestedAt"


def requested_at(body: Mapping[str, Any]) -> str | None:
    """The reconcile request annotation (`kubectl annotate … reconcile.lunora.sh/requestedAt=…`)."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(REQUESTED_AT)
    return str(value) if value is not None else None


def _wire(body: Mapping[str, Any]) -> dict[str, Any]:
    metadata = body.get("metadata") or {}
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {
            key: metadata[key]
            for key in ("name", "namespace", "uid", "generation", "annotations", "labels")
            if metadata.get(key) is not None
        },
        "spec": dict(body.get("spec") or {}),
    }


@dataclass(frozen=True)
class ContainerRecord:
    namespace: str
    name: str
    uid: str
    app: str
    generation: int
    created: str
    deleting: bool
    status_image_ref: str | None
    wire: Mapping[str, Any]

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ContainerRecord:
        metadata = body.get("metadata") or {}
        status = body.get("status") or {}
        image = status.get("image") or {}
        return cls(
            namespace=str(metadata.get("namespace")),
            name=str(metadata.get("name")),
            uid=str(metadata.get("uid")),
            app=str((body.get("spec") or {}).get("app", "")),
            generation=int(metadata.get("generation") or 0),
            created=str(metadata.get("creationTimestamp") or ""),
            deleting=bool(metadata.get("deletionTimestamp")),
            status_image_ref=image.get("ref") if isinstance(image, Mapping) else None,
            wire=_wire(body),
        )

    @property
    def app_key(self) -> AppKey:
        return (self.namespace, self.app)

    def resource(self) -> LunoraContainer:
        """The validated resource; raises ResourceInvalid with every field error."""
        resource = validate_resource(dict(self.wire))
        assert isinstance(resource, LunoraContainer)
        return resource


@dataclass(frozen=True)
class AppRecord:
    namespace: str
    name: str
    uid: str
    generation: int
    deleting: bool
    wire: Mapping[str, Any]
    status: Mapping[str, Any]
    resource_version: str = ""

    @property
    def body(self) -> dict[str, Any]:
        """The object as watched: what status writes compare against."""
        metadata = {**self.wire["metadata"], "resourceVersion": self.resource_version}
        return {**self.wire, "metadata": metadata, "status": dict(self.status)}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> AppRecord:
        metadata = body.get("metadata") or {}
        return cls(
            namespace=str(metadata.get("namespace")),
            name=str(metadata.get("name")),
            uid=str(metadata.get("uid")),
            generation=int(metadata.get("generation") or 0),
            deleting=bool(metadata.get("deletionTimestamp")),
            wire=_wire(body),
            status=dict(body.get("status") or {}),
            resource_version=str(metadata.get("resourceVersion") or ""),
        )

    @property
    def key(self) -> AppKey:
        return (self.namespace, self.name)

    def resource(self) -> LunoraApp:
        resource = validate_resource(dict(self.wire))
        assert isinstance(resource, LunoraApp)
        return resource


class Inventory(Protocol):
    """The resources the operator has seen (kopf's indexes)."""

    def app(self, key: AppKey) -> AppRecord | None: ...

    def containers(self, key: AppKey) -> Sequence[ContainerRecord]: ...


__all__ = ["AppKey", "AppRecord", "ContainerRecord", "Inventory", "ResourceInvalid"]
