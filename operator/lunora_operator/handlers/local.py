"""Local mode's watches: the instance Pods (an index by their LunoraContainer, for
`status.instances`) and the routers' Deployments (their app and its containers look again when
one changes). The API server filters both by label (startup.py), so no other Pod or Deployment
reaches the operator. Registered only when the operator runs local mode (`register`), so an
operator without it needs no RBAC on Pods or Deployments."""

from __future__ import annotations

from typing import Any

import kopf

from lunora_operator.handlers.common import controller_of
from lunora_operator.local import names
from lunora_operator.reconcile.local_instances import InstancePod

INSTANCE_LABELS = {names.LABEL_ROLE: names.ROLE_INSTANCE}
ROUTER_LABELS = {names.LABEL_ROLE: names.ROLE_ROUTER}


def instance_pod_index(body: kopf.Body, **_: Any) -> dict[Any, InstancePod]:
    pod = InstancePod.from_body(body)
    return {pod.container_uid: pod} if pod is not None else {}


async def instance_pod_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    controller_of(memo, kwargs).instance_pod_watched(str(event.get("type")), body)


async def router_event(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    controller_of(memo, kwargs).router_watched(body)


_REGISTERED: set[int] = set()


def register(registry: kopf.OperatorRegistry) -> None:
    """Adds the handlers to `registry`, once (another operator in the same process adds nothing)."""
    if id(registry) in _REGISTERED:
        return
    _REGISTERED.add(id(registry))
    kopf.index("", "v1", "pods", labels=INSTANCE_LABELS, id="instance_pod_index", registry=registry)(
        instance_pod_index
    )
    kopf.on.event("", "v1", "pods", labels=INSTANCE_LABELS, id="instance_pod_event", registry=registry)(
        instance_pod_event
    )
    kopf.on.event("apps", "v1", "deployments", labels=ROUTER_LABELS, id="router_event", registry=registry)(
        router_event
    )
