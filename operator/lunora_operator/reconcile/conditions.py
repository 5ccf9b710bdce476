"""Status conditions, kstatus style.

`Ready` is always present; `Reconciling` and `Stalled` exist only while true; every step owns
one condition. `lastTransitionTime` moves only when a condition's status flips, so a reconcile
that changes nothing produces an identical condition list (and therefore no write).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from lunora_operator.api.status import Condition

ConditionStatus = Literal["True", "False", "Unknown"]

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
CONFIG_RENDERED = "ConfigRendered"
CLEANED_UP = "CleanedUp"
IMAGE_READY = "ImageReady"
DURABLE_OBJECT_READY = "DurableObjectReady"
DEPLOYED = "Deployed"
WORKER_DEPLOYED = "WorkerDeployed"

# The order conditions are listed in; unknown types keep their place after these.
CATALOGUE = (
    READY,
    RECONCILING,
    STALLED,
    CLEANED_UP,
    CONFIG_RENDERED,
    IMAGE_READY,
    WORKER_DEPLOYED,
    DURABLE_OBJECT_READY,
    DEPLOYED,
)


@dataclass(frozen=True)
class ConditionUpdate:
    """What a step says about its condition in this pass."""

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""


def parse_conditions(written: Sequence[Mapping[str, Any]] | None) -> list[Condition]:
    """The conditions as last written; one that does not parse (a hand edit) is left out."""
    parsed: list[Condition] = []
    for entry in written or ():
        try:
            parsed.append(Condition.model_validate(entry, strict=False))
        except ValidationError:
            continue
    return parsed


def merge_conditions(
    existing: Sequence[Condition],
    updates: Iterable[ConditionUpdate],
    generation: int | None,
    now: datetime,
    drop: Iterable[str] = (),
) -> list[Condition]:
    """The condition list after `updates`; `drop` removes types (Reconciling/Stalled once false).

    A condition whose status does not change keeps its lastTransitionTime.
    """
    by_type = {condition.type: condition for condition in existing}
    moment = now.replace(microsecond=0)
    for update in updates:
        previous = by_type.get(update.type)
        moved = previous is None or previous.status != update.status
        by_type[update.type] = Condition(
            type=update.type,
            status=update.status,
            reason=update.reason,
            message=update.message,
            observed_generation=generation,
            last_transition_time=moment if previous is None or moved else previous.last_transition_time,
        )
    for condition_type in drop:
        by_type.pop(condition_type, None)
    order = {name: index for index, name in enumerate(CATALOGUE)}
    return sorted(by_type.values(), key=lambda c: order.get(c.type, len(order)))


def find(conditions: Sequence[Mapping[str, Any]] | None, condition_type: str) -> Mapping[str, Any] | None:
    """A condition of a status as written (wire form), by type."""
    return next((c for c in conditions or () if c.get("type") == condition_type), None)
