"""kstatus' generic rules (cli-utils `pkg/kstatus/status/generic.go`), to check what GitOps tools
make of a status the operator writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

KStatus = Literal["InProgress", "Current", "Failed", "Terminating"]


def _condition(conditions: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions if c.get("type") == kind), None)


def _is_true(conditions: Sequence[Mapping[str, Any]], kind: str) -> bool:
    found = _condition(conditions, kind)
    return found is not None and found.get("status") == "True"


def kstatus(resource: Mapping[str, Any]) -> KStatus:
    """In kstatus' order: terminating, generation not observed, Reconciling, Stalled, Ready."""
    metadata = resource.get("metadata") or {}
    status = resource.get("status") or {}
    conditions = status.get("conditions") or []
    if metadata.get("deletionTimestamp"):
        return "Terminating"
    if status.get("observedGeneration") != metadata.get("generation"):
        return "InProgress"
    if _is_true(conditions, "Reconciling"):
        return "InProgress"
    if _is_true(conditions, "Stalled"):
        return "Failed"
    ready = _condition(conditions, "Ready")
    if ready is not None and ready.get("status") != "True":
        return "InProgress"
    return "Current"
