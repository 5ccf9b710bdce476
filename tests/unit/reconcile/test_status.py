"""The status a reconcile writes: typed facts and merged conditions, summarised into Ready; only
the final status observes the generation; an unchanged reconcile patches nothing; a held change
is neither Reconciling nor Stalled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lunora_operator.api.status import ImageStatus, LunoraContainerStatus
from lunora_operator.reconcile.conditions import READY, RECONCILING, STALLED
from lunora_operator.reconcile.errors import Held, Stalled, Transient
from lunora_operator.reconcile.status import (
    StatusDraft,
    merge_patch,
    next_status,
    parse_status,
    progress_status,
)
from tests.support.kstatus import kstatus

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
EMPTY = LunoraContainerStatus()


def resource(status: LunoraContainerStatus, generation: int = 3) -> dict[str, Any]:
    return {"metadata": {"generation": generation}, "status": status.to_wire()}


def summarised(generation: int, error: Exception | None = None) -> StatusDraft:
    draft = StatusDraft(generation)
    draft.summarise(error, "running")  # type: ignore[arg-type]
    return draft


def kinds(status: LunoraContainerStatus) -> dict[str, str]:
    return {c.type: c.status for c in status.conditions or ()}


def test_summary_of_success_failure_faults_and_a_held_change() -> None:
    ok = next_status(EMPTY, EMPTY, summarised(3), T0)
    assert kstatus(resource(ok)) == "Current"

    stalled = next_status(EMPTY, EMPTY, summarised(3, Stalled("InvalidSpec", "spec.x: bad")), T0)
    assert kstatus(resource(stalled)) == "Failed"
    assert kinds(stalled) == {READY: "False", STALLED: "True"}

    retrying = next_status(stalled, stalled, summarised(3, Transient("CloudflareUnavailable", "503")), T1)
    # Stalled goes once it no longer holds; Reconciling comes while retrying.
    assert kinds(retrying) == {READY: "False", RECONCILING: "True"}
    assert kstatus(resource(retrying)) == "InProgress"

    held = next_status(retrying, retrying, summarised(3, Held("RolloutHeld", "start it yourself")), T1)
    # Waiting for a person: not ready, but neither the operator's work nor a failure.
    assert kinds(held) == {READY: "False"}
    assert kstatus(resource(held)) == "InProgress"


def test_only_the_final_status_observes_the_generation() -> None:
    previous = next_status(EMPTY, EMPTY, summarised(2), T0)
    progress = progress_status(previous, 3, "reconciling generation 3", T1)
    assert progress.observed_generation == 2
    ready = next(c for c in progress.conditions or () if c.type == READY)
    assert (ready.status, ready.reason, ready.observed_generation) == ("Unknown", "Progressing", 3)
    assert kstatus(resource(progress)) == "InProgress"
    assert next_status(progress, progress, summarised(3), T1).observed_generation == 3


def test_an_unchanged_reconcile_patches_nothing() -> None:
    facts = EMPTY.model_copy(update={"image": ImageStatus(ref="r:1")})
    status = next_status(EMPTY, facts, summarised(3), T0).to_wire()
    previous = parse_status(LunoraContainerStatus, status)

    again = next_status(previous, facts, summarised(3), T1).to_wire()

    assert merge_patch(status, again) == {}


def test_every_field_the_new_status_leaves_unset_is_removed() -> None:
    written = {
        "image": {"ref": "r:1", "digest": "sha256:1"},
        "instances": {"max": 3, "selector": "app=x"},
        "unknownField": "from an older operator",
        "lastSyncTime": "not a time",
    }
    previous = parse_status(LunoraContainerStatus, written)
    assert previous.last_sync_time is None  # unreadable: left out
    facts = previous.model_copy(update={"image": ImageStatus(ref="r:2"), "instances": None})

    patch = merge_patch(written, next_status(previous, facts, summarised(1), T0).to_wire())

    assert patch["image"] == {"ref": "r:2", "digest": None}
    assert patch["instances"] is None
    assert patch["unknownField"] is None
    assert patch["lastSyncTime"] is None


def test_the_reconcile_request_is_echoed_and_kept() -> None:
    first = next_status(EMPTY, EMPTY, summarised(1), T0, requested_at="2026-03-01T10:00:00Z")
    later = next_status(first, first, summarised(1), T1)
    assert later.last_handled_reconcile_at == "2026-03-01T10:00:00Z"


def test_merge_patch_removes_replaces_and_nests() -> None:
    old = {"a": 1, "b": {"c": 1, "d": 2}, "e": [1, 2], "gone": True}
    new = {"a": 1, "b": {"c": 1, "d": 3}, "e": [1]}
    assert merge_patch(old, new) == {"b": {"d": 3}, "e": [1], "gone": None}


def test_kstatus_rules_in_order() -> None:
    assert kstatus({"metadata": {"generation": 1, "deletionTimestamp": "x"}}) == "Terminating"
    assert kstatus({"metadata": {"generation": 2}, "status": {"observedGeneration": 1}}) == "InProgress"
