"""The status a reconcile writes, typed by the API's status models (`api/status.py`): the steps'
conditions gathered in a draft, summarised into `Ready`, and the kind's facts, written once.

Only the final status sets the top-level `observedGeneration`, so a GitOps tool never sees the
resource as current between steps. Every declared field is written or removed (a field the new
status leaves unset is removed by the patch), and a reconcile that changes nothing yields an
empty patch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from lunora_operator.api.status import CommonStatus
from lunora_operator.reconcile.conditions import (
    READY,
    RECONCILING,
    STALLED,
    ConditionStatus,
    ConditionUpdate,
    merge_conditions,
    parse_conditions,
)
from lunora_operator.reconcile.errors import StepError

PROGRESSING = "Progressing"
SUCCEEDED = "Succeeded"
MESSAGE_LIMIT = 32768
"""The longest condition message the API accepts."""

StatusT = TypeVar("StatusT", bound=CommonStatus)


@dataclass
class StatusDraft:
    """The conditions the steps of one reconcile set."""

    generation: int | None
    conditions: dict[str, ConditionUpdate] = field(default_factory=dict)

    def set(self, condition_type: str, status: ConditionStatus, reason: str, message: str = "") -> None:
        self.conditions[condition_type] = ConditionUpdate(
            condition_type, status, reason, message[:MESSAGE_LIMIT]
        )

    def summarise(self, error: StepError | None, ready_message: str) -> None:
        """`Ready` from the outcome; `Reconciling` / `Stalled` only while they hold (a held
        change has neither: it waits for a person, not for the operator)."""
        if error is None:
            self.set(READY, "True", SUCCEEDED, ready_message)
            return
        self.set(READY, "False", error.reason, error.message)
        if error.kind == "stalled":
            self.set(STALLED, "True", error.reason, error.message)
        elif error.kind in ("waiting", "transient"):
            self.set(RECONCILING, "True", error.reason, error.message)


def parse_status(model: type[StatusT], written: Mapping[str, Any] | None) -> StatusT:
    """The status as last written, read leniently: a field that does not parse (written by an
    older operator, or by hand) is left out, and the next write removes it."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if written is None or key not in written:
            continue
        if name == "conditions":
            fields[name] = parse_conditions(written[key])
            continue
        try:
            fields[name] = getattr(model.model_validate({key: written[key]}, strict=False), name)
        except ValidationError:
            continue
    return model.model_construct(**fields)


def next_status(
    previous: StatusT,
    facts: StatusT,
    draft: StatusDraft,
    now: datetime,
    requested_at: str | None = None,
    observed: bool = True,
) -> StatusT:
    """The whole status after this reconcile: `facts`, the conditions merged into the previous
    ones, the reconcile request echoed. `observed=False` leaves observedGeneration as it was
    (the progress status written before long work)."""
    drop = [kind for kind in (RECONCILING, STALLED) if kind not in draft.conditions]
    conditions = merge_conditions(
        previous.conditions or [], draft.conditions.values(), draft.generation, now, drop
    )
    generation = (
        draft.generation if observed and draft.generation is not None else previous.observed_generation
    )
    return facts.model_copy(
        update={
            "conditions": conditions,
            "observed_generation": generation,
            "last_handled_reconcile_at": requested_at or previous.last_handled_reconcile_at,
        }
    )


def progress_status(previous: StatusT, generation: int | None, message: str, now: datetime) -> StatusT:
    """The first status of a new generation: `Ready=Unknown/Progressing`, `Reconciling=True`, so
    `kubectl wait --for=condition=Ready` cannot pass on a stale `Ready=True`. A `Stalled` from the
    last generation goes: the new spec may have fixed it. The facts stay as they were."""
    draft = StatusDraft(generation)
    draft.set(READY, "Unknown", PROGRESSING, message)
    draft.set(RECONCILING, "True", PROGRESSING, message)
    return next_status(previous, previous, draft, now, observed=False)


def merge_patch(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """An RFC 7386 merge patch from `previous` to `new` (lists replaced whole); {} when equal."""
    patch: dict[str, Any] = {}
    previous = previous or {}
    for key, value in new.items():
        old = previous.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = merge_patch(old, value)
            if nested:
                patch[key] = nested
        elif old != value or key not in previous:
            patch[key] = value
    for key in previous:
        if key not in new:
            patch[key] = None
    return patch
