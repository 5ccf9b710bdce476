"""Built-in objects the operator manages for local mode (a router's Deployment, Service,
ServiceAccount, Role, RoleBinding and its instances' NetworkPolicy; instance Pods on deletion): observe, create, patch, delete,
list, as plain JSON. Writes pass the same write lease as the operator's other Kubernetes writes.

The official client is synchronous, so each call runs in a worker thread; answers are read raw
(`_preload_content=False`), so an object compares with what the operator would write as the API
server stores it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lunora_operator.kube.gateway import KubeUnavailable, api_error, in_thread

Obj = dict[str, Any]


@dataclass(frozen=True)
class ObjectKind:
    kind: str
    api: str
    """The official client's API class holding its calls."""
    suffix: str
    """What follows `read_`, `create_`, … in the names of those calls."""


DEPLOYMENT = ObjectKind("Deployment", "AppsV1Api", "namespaced_deployment")
SERVICE = ObjectKind("Service", "CoreV1Api", "namespaced_service")
SERVICE_ACCOUNT = ObjectKind("ServiceAccount", "CoreV1Api", "namespaced_service_account")
ROLE = ObjectKind("Role", "RbacAuthorizationV1Api", "namespaced_role")
ROLE_BINDING = ObjectKind("RoleBinding", "RbacAuthorizationV1Api", "namespaced_role_binding")
POD = ObjectKind("Pod", "CoreV1Api", "namespaced_pod")
NETWORK_POLICY = ObjectKind("NetworkPolicy", "NetworkingV1Api", "namespaced_network_policy")
KINDS = {
    kind.kind: kind
    for kind in (DEPLOYMENT, SERVICE, SERVICE_ACCOUNT, ROLE, ROLE_BINDING, POD, NETWORK_POLICY)
}


class Objects(Protocol):
    async def observe(self, kind: ObjectKind, namespace: str, name: str) -> Obj | None: ...

    async def create(self, kind: ObjectKind, namespace: str, body: Mapping[str, Any]) -> Obj: ...

    async def patch(self, kind: ObjectKind, namespace: str, name: str, patch: Mapping[str, Any]) -> Obj:
        """An RFC 7386 merge patch."""
        ...

    async def delete(self, kind: ObjectKind, namespace: str, name: str) -> bool:
        """False when it was gone already."""
        ...

    async def list(self, kind: ObjectKind, namespace: str, label_selector: str) -> list[Obj]: ...


class KubeObjects:
    """`Objects` over the official client."""

    def __init__(
        self, api: client.ApiClient, write_guard: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._apis = {name: getattr(client, name)(api) for name in {k.api for k in KINDS.values()}}
        self._write_guard = write_guard

    def _call(self, kind: ObjectKind, verb: str) -> Callable[..., Any]:
        return getattr(self._apis[kind.api], f"{verb}_{kind.suffix}")  # type: ignore[no-any-return]

    async def _may_write(self, what: str) -> None:
        if self._write_guard is None:
            return
        try:
            await self._write_guard()
        except Exception as refusal:
            raise KubeUnavailable(f"{what}: not written: {refusal}") from None

    async def _json(
        self, what: str, call: Callable[..., Any], *args: Any, missing: bool = False, **kwargs: Any
    ) -> Obj | None:
        """The call's answer; None for a 404 when `missing` is allowed."""
        try:
            response = await in_thread(what, call, *args, _preload_content=False, **kwargs)
        except ApiException as error:
            if missing and error.status == 404:
                return None
            raise api_error(error, what) from None
        return json.loads(response.data)  # type: ignore[no-any-return]

    async def _answer(self, what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Obj:
        found = await self._json(what, call, *args, **kwargs)
        assert found is not None
        return found

    async def observe(self, kind: ObjectKind, namespace: str, name: str) -> Obj | None:
        what = f"reading {kind.kind} {namespace}/{name}"
        return await self._json(what, self._call(kind, "read"), name, namespace, missing=True)

    async def create(self, kind: ObjectKind, namespace: str, body: Mapping[str, Any]) -> Obj:
        what = f"creating {kind.kind} {namespace}/{body['metadata']['name']}"
        await self._may_write(what)
        return await self._answer(what, self._call(kind, "create"), namespace, dict(body))

    async def patch(self, kind: ObjectKind, namespace: str, name: str, patch: Mapping[str, Any]) -> Obj:
        what = f"patching {kind.kind} {namespace}/{name}"
        await self._may_write(what)
        return await self._answer(
            what,
            self._call(kind, "patch"),
            name,
            namespace,
            dict(patch),
            _content_type="application/merge-patch+json",
        )

    async def delete(self, kind: ObjectKind, namespace: str, name: str) -> bool:
        what = f"deleting {kind.kind} {namespace}/{name}"
        await self._may_write(what)
        try:
            await in_thread(
                what,
                self._call(kind, "delete"),
                name,
                namespace,
                propagation_policy="Background",
                _preload_content=False,
            )
        except ApiException as error:
            if error.status == 404:
                return False
            raise api_error(error, what) from None
        return True

    async def list(self, kind: ObjectKind, namespace: str, label_selector: str) -> list[Obj]:
        what = f"listing {kind.kind}s in {namespace}"
        found = await self._answer(what, self._call(kind, "list"), namespace, label_selector=label_selector)
        return list(found.get("items") or [])
