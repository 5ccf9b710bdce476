"""The status a reconcile writes: one draft per reconcile, summarised into `Ready`, written once.

Only the final patch sets the top-level `observedGeneration`, so a GitOps tool never sees the
resource as current between steps. A reconcile that changes nothing yields an empty patch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lunora_operator.reconcile.conditions import (
    READY,
    RECONCILING,
    STALLED,
    Condition,
    merge_conditions,
)
from lunora_operator.reconcile.errors import StepError

PROGRESSING = "Progressing"
SUCCEEDED = "Succeeded"


@dataclass
class StatusDraft:
    """Conditions and facts gathered by the steps of one reconcile."""

    generation: int | None
    conditions: dict[str, Condition] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    """Top-level status fields (wire names); None removes a field."""

    def set(self, condition_type: str, status: str, reason: str, message: str = "") -> None:
        assert status in ("True", "False", "Unknown")
        self.conditions[condition_type] = Condition(condition_type, status, reason, message)  # type: ignore[arg-type]

    def fact(self, name: str, value: Any) -> None:
        self.facts[name] = value

    def summarise(self, error: StepError | None, ready_message: str) -> None:
        """`Ready` from the outcome; `Reconciling` / `Stalled` only while they hold."""
        if error is None:
            self.set(READY, "True", SUCCEEDED, ready_message)
        elif error.kind == "stalled":
            self.set(READY, "False", error.reason, error.message)
            self.set(STALLED, "True", error.reason, error.message)
        else:
            self.set(READY, "False", error.reason, error.message)
            self.set(RECONCILING, "True", error.reason, error.message)


def next_status(
    previous: Mapping[str, Any] | None, draft: StatusDraft, now: datetime, observed: bool = True
) -> dict[str, Any]:
    """The whole status after this reconcile. `observed=False` leaves observedGeneration alone
    (the progress patch written before long work)."""
    status = {key: value for key, value in (previous or {}).items() if key != "conditions"}
    for name, value in draft.facts.items():
        if value is None:
            status.pop(name, None)
        else:
            status[name] = value
    drop = [kind for kind in (RECONCILING, STALLED) if kind not in draft.conditions]
    status["conditions"] = merge_conditions(
        (previous or {}).get("conditions"), draft.conditions.values(), draft.generation, now, drop
    )
    if observed and draft.generation is not None:
        status["observedGeneration"] = draft.generation
    return status


def progress_status(
    previous: Mapping[str, Any] | None, generation: int | None, message: str, now: datetime
) -> dict[str, Any]:
    """The first patch of a new generation: `Ready=Unknown/Progressing`, `Reconciling=True`, so
    `kubectl wait --for=condition=Ready` cannot pass on a stale `Ready=True`. A `Stalled` from the
    last generation goes: the new spec may have fixed it."""
    draft = StatusDraft(generation)
    draft.set(READY, "Unknown", PROGRESSING, message)
    draft.set(RECONCILING, "True", PROGRESSING, message)
    return next_status(previous, draft, now, observed=False)


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
