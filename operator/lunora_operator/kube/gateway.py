"""Reads and writes the reconcilers need beyond what kopf does for them.

The official client is synchronous, so every call runs in a worker thread. Secret values are
returned to the caller and never logged or put into exception text.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lunora_operator.api.base import GROUP, VERSION


class ReferenceMissing(LookupError):
    """A referenced object or key does not exist. The text names it, never a value."""

    def __init__(self, kind: str, namespace: str, name: str, key: str | None = None) -> None:
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.key = key
        where = f'{kind} "{namespace}/{name}"'
        super().__init__(f'{where} has no key "{key}"' if key is not None else f"{where} not found")


class KubeUnavailable(RuntimeError):
    """The API server did not answer, or answered with an error a retry may cure (5xx, a
    conflict); KubeRefused is the kind a retry cannot."""


class KubeRefused(KubeUnavailable):
    """The API server answered and refused (403: the operator's RBAC lacks a rule; 422: the object
    is invalid). Asking again changes nothing until a person does."""


def api_error(error: ApiException, what: str) -> KubeUnavailable:
    """An ApiException as the operator's error: the API server's own reason, never the body."""
    text = f"{what} failed: {error.status} {error.reason}"
    return KubeRefused(text) if error.status in (401, 403, 422) else KubeUnavailable(text)


@dataclass(frozen=True)
class ConfigMapData:
    name: str
    data: dict[str, str] = field(default_factory=dict)
    binary_data: dict[str, bytes] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    resource_version: str | None = None


@dataclass(frozen=True)
class OwnerReference:
    api_version: str
    kind: str
    name: str
    uid: str

    def to_model(self) -> client.V1OwnerReference:
        return client.V1OwnerReference(
            api_version=self.api_version,
            kind=self.kind,
            name=self.name,
            uid=self.uid,
            controller=True,
            block_owner_deletion=True,
        )


class Kube(Protocol):
    async def secret_value(self, namespace: str, name: str, key: str) -> str: ...

    async def config_map(self, namespace: str, name: str) -> ConfigMapData | None: ...

    async def write_config_map(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: OwnerReference | None,
        resource_version: str | None,
    ) -> None: ...

    async def patch_status(
        self, plural: str, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> str | None: ...

    async def exists(self, plural: str, namespace: str, name: str) -> bool: ...


T = TypeVar("T")


async def _in_thread(what: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs one client call in a worker thread. No answer at all (the API server restarting:
    connection refused, reset or timed out) is KubeUnavailable, like a server error."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except urllib3.exceptions.HTTPError as error:
        raise KubeUnavailable(
            f"{what} failed: the API server did not answer ({type(error).__name__})"
        ) from None


class KubeGateway:
    """`Kube` over the official client, one call per thread."""

    def __init__(
        self, api: client.ApiClient, write_guard: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        self._write_guard = write_guard

    async def _may_write(self, what: str) -> None:
        """The peering's write lease, as for Cloudflare: a process paused past it writes nothing
        here either when it wakes (an old render over the ConfigMap, an old status)."""
        if self._write_guard is None:
            return
        try:
            await self._write_guard()
        except Exception as refusal:
            raise KubeUnavailable(f"{what}: not written: {refusal}") from None

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        try:
            secret = await _in_thread(
                f'reading Secret "{namespace}/{name}"', self._core.read_namespaced_secret, name, namespace
            )
        except ApiException as error:
            if error.status == 404:
                raise ReferenceMissing("Secret", namespace, name) from None
            raise api_error(error, f'reading Secret "{namespace}/{name}"') from None
        data = secret.data or {}
        if key not in data:
            raise ReferenceMissing("Secret", namespace, name, key)
        try:
            return base64.b64decode(data[key]).decode()
        except UnicodeDecodeError:
            raise KubeRefused(
                f'Secret "{namespace}/{name}" key "{key}" is not UTF-8 text; store the value as text'
            ) from None

    async def config_map(self, namespace: str, name: str) -> ConfigMapData | None:
        try:
            found = await _in_thread(
                f'reading ConfigMap "{namespace}/{name}"',
                self._core.read_namespaced_config_map,
                name,
                namespace,
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise api_error(error, f'reading ConfigMap "{namespace}/{name}"') from None
        metadata = found.metadata or client.V1ObjectMeta()
        return ConfigMapData(
            name=name,
            data=dict(found.data or {}),
            binary_data={k: base64.b64decode(v) for k, v in (found.binary_data or {}).items()},
            annotations=dict(metadata.annotations or {}),
            resource_version=metadata.resource_version,
        )

    async def write_config_map(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: OwnerReference | None,
        resource_version: str | None,
    ) -> None:
        """Creates the ConfigMap, or replaces it when `resource_version` (the one read) is given;
        a conflict means someone else wrote it since, and the caller renders again."""
        body = client.V1ConfigMap(
            api_version="v1",
            kind="ConfigMap",
            metadata=client.V1ObjectMeta(
                name=name,
                namespace=namespace,
                annotations=dict(annotations),
                labels={"app.kubernetes.io/managed-by": "lunora-operator"},
                owner_references=[owner.to_model()] if owner is not None else None,
                resource_version=resource_version,
            ),
            data=dict(data),
        )
        what = f'writing ConfigMap "{namespace}/{name}"'
        await self._may_write(what)
        try:
            if resource_version is None:
                await _in_thread(what, self._core.create_namespaced_config_map, namespace, body)
            else:
                await _in_thread(what, self._core.replace_namespaced_config_map, name, namespace, body)
        except ApiException as error:
            raise api_error(error, what) from None

    async def patch_status(
        self, plural: str, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> str | None:
        """Merge-patches the status subresource; returns the object's new resourceVersion (None
        when the object is gone)."""
        await self._may_write(f"patching {plural} {namespace}/{name} status")
        try:
            updated = await _in_thread(
                f"patching {plural} {namespace}/{name} status",
                self._custom.patch_namespaced_custom_object_status,
                GROUP,
                VERSION,
                namespace,
                plural,
                name,
                {"status": dict(patch)},
                _content_type="application/merge-patch+json",
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise api_error(error, f"patching {plural} {namespace}/{name} status") from None
        metadata = updated.get("metadata") if isinstance(updated, dict) else None
        return str(metadata["resourceVersion"]) if metadata and "resourceVersion" in metadata else None

    async def exists(self, plural: str, namespace: str, name: str) -> bool:
        """Whether one of our custom objects exists (read past the watch cache)."""
        try:
            await _in_thread(
                f"reading {plural} {namespace}/{name}",
                self._custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                plural,
                name,
            )
        except ApiException as error:
            if error.status == 404:
                return False
            raise api_error(error, f"reading {plural} {namespace}/{name}") from None
        return True
