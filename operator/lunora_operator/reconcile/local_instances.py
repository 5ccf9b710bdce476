"""`LunoraContainer.status.instances` in local mode: the container's instance Pods counted by
state, from the operator's watch of them (no call per pass, no write per request: the counts
change when a Pod's state does)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from lunora_operator.api.status import InstancesStatus
from lunora_operator.local import names, texts
from lunora_operator.local.pod_state import pod_state

InstanceState = Literal["running", "starting", "stopping", "stopped"]


@dataclass(frozen=True)
class InstancePod:
    name: str
    container_uid: str
    """The LunoraContainer that owns the Pod."""
    state: InstanceState

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> InstancePod | None:
        """None for a Pod that is not a LunoraContainer's instance."""
        metadata = body.get("metadata") or {}
        owner = next(
            (o for o in metadata.get("ownerReferences") or () if o.get("kind") == "LunoraContainer"), None
        )
        pod = pod_state(dict(body))
        if owner is None or pod is None:
            return None
        return cls(
            str(metadata.get("name")),
            str(owner.get("uid")),
            instance_state(pod.finished, pod.deleting, pod.running),
        )


def instance_state(finished: bool, deleting: bool, running: bool) -> InstanceState:
    if finished:
        return "stopped"
    if deleting:
        return "stopping"
    return "running" if running else "starting"


class InstancePods(Protocol):
    """The instance Pods the operator watches."""

    def of(self, container_uid: str) -> Sequence[InstancePod]: ...


def instances_status(
    pods: Iterable[InstancePod], max_instances: int | None, app: str, container: str
) -> InstancesStatus:
    counts = Counter(pod.state for pod in pods)
    return InstancesStatus(
        max=max_instances or texts.DEFAULT_MAX_INSTANCES,
        running=counts["running"],
        starting=counts["starting"],
        stopping=counts["stopping"],
        stopped=counts["stopped"],
        selector=names.container_instance_selector(app, container),
    )


class InstanceChanges:
    """Which Pod changes change a count: a Pod seen for the first time, in another state, or gone.
    A container's pass is woken only for those, not for every event of its Pods."""

    def __init__(self) -> None:
        self._states: dict[str, InstanceState] = {}

    def changed(self, event_type: str, pod: InstancePod) -> bool:
        key = f"{pod.container_uid}/{pod.name}"
        if event_type == "DELETED":
            return self._states.pop(key, None) is not None
        before = self._states.get(key)
        self._states[key] = pod.state
        return before != pod.state
