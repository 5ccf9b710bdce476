"""Status conditions, kstatus style.

`Ready` is always present; `Reconciling` and `Stalled` exist only while true; every step owns
one condition. `lastTransitionTime` moves only when a condition's status flips, so a reconcile
that changes nothing produces an identical condition list (and therefore no write).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

ConditionStatus = Literal["True", "False", "Unknown"]

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
CONFIG_RENDERED = "ConfigRendered"
IMAGE_READY = "ImageReady"
DURABLE_OBJECT_READY = "DurableObjectReady"
DEPLOYED = "Deployed"
WORKER_DEPLOYED = "WorkerDeployed"
SYNCED = "Synced"

# The order conditions are listed in; unknown types keep their place after these.
CATALOGUE = (
    READY,
    RECONCILING,
    STALLED,
    CONFIG_RENDERED,
    IMAGE_READY,
    WORKER_DEPLOYED,
    DURABLE_OBJECT_READY,
    DEPLOYED,
    SYNCED,
)
ABNORMAL_TRUE = (RECONCILING, STALLED)


@dataclass(frozen=True)
class Condition:
    type: str
    status: ConditionStatus
    reason: str
    message: str = ""


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with second precision, as the API server stores metav1.Time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_conditions(
    existing: Sequence[Mapping[str, Any]] | None,
    updates: Iterable[Condition],
    generation: int | None,
    now: datetime,
    drop: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The condition list after `updates`; `drop` removes types (Reconciling/Stalled once false).

    A condition whose status does not change keeps its lastTransitionTime.
    """
    by_type: dict[str, dict[str, Any]] = {str(c["type"]): dict(c) for c in existing or () if "type" in c}
    for condition in updates:
        previous = by_type.get(condition.type)
        moved = previous is None or previous.get("status") != condition.status
        entry: dict[str, Any] = {
            "type": condition.type,
            "status": condition.status,
            "reason": condition.reason,
            "message": condition.message,
            "lastTransitionTime": timestamp(now)
            if previous is None or moved
            else previous.get("lastTransitionTime", timestamp(now)),
        }
        if generation is not None:
            entry["observedGeneration"] = generation
        by_type[condition.type] = entry
    for condition_type in drop:
        by_type.pop(condition_type, None)
    order = {name: index for index, name in enumerate(CATALOGUE)}
    return sorted(by_type.values(), key=lambda c: order.get(c["type"], len(order)))


def find(conditions: Sequence[Mapping[str, Any]] | None, condition_type: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == condition_type), None)


def is_true(conditions: Sequence[Mapping[str, Any]] | None, condition_type: str) -> bool:
    found = find(conditions, condition_type)
    return found is not None and found.get("status") == "True"


KStatus = Literal["InProgress", "Current", "Failed", "Terminating"]


def kstatus(resource: Mapping[str, Any]) -> KStatus:
    """kstatus' generic rules, in order (cli-utils `pkg/kstatus/status/generic.go`)."""
    metadata = resource.get("metadata") or {}
    status = resource.get("status") or {}
    conditions = status.get("conditions") or []
    if metadata.get("deletionTimestamp"):
        return "Terminating"
    if status.get("observedGeneration") != metadata.get("generation"):
        return "InProgress"
    if is_true(conditions, RECONCILING):
        return "InProgress"
    if is_true(conditions, STALLED):
        return "Failed"
    ready = find(conditions, READY)
    if ready is not None and ready.get("status") != "True":
        return "InProgress"
    return "Current"
