"""Conditions follow the kstatus contract: Ready always, Reconciling/Stalled only while true,
lastTransitionTime moves only on a status flip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lunora_operator.reconcile.conditions import (
    READY,
    RECONCILING,
    STALLED,
    Condition,
    kstatus,
    merge_conditions,
)
from lunora_operator.reconcile.errors import Stalled, Transient
from lunora_operator.reconcile.status import StatusDraft, merge_patch, next_status, progress_status

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def test_transition_time_moves_only_when_status_flips() -> None:
    first = merge_conditions([], [Condition(READY, "False", "Waiting", "a")], 1, T0)
    same_status = merge_conditions(first, [Condition(READY, "False", "Other", "b")], 2, T1)
    flipped = merge_conditions(same_status, [Condition(READY, "True", "Succeeded", "")], 2, T1)
    assert same_status[0]["lastTransitionTime"] == "2026-11-27T10:00:00Z"
    assert same_status[0]["reason"] == "Other"
    assert same_status[0]["observedGeneration"] == 2
    assert flipped[0]["lastTransitionTime"] == "2026-11-27T10:05:00Z"


def test_conditions_are_listed_in_catalogue_order_and_dropped_on_request() -> None:
    merged = merge_conditions(
        [],
        [
            Condition("Deployed", "True", "Created"),
            Condition(STALLED, "True", "X"),
            Condition(READY, "False", "X"),
        ],
        1,
        T0,
    )
    assert [c["type"] for c in merged] == [READY, STALLED, "Deployed"]
    assert [c["type"] for c in merge_conditions(merged, [], 1, T0, drop=[STALLED])] == [READY, "Deployed"]


def _resource(status: dict, generation: int = 3) -> dict:
    return {"metadata": {"generation": generation}, "status": status}


def test_summary_of_success_failure_and_faults() -> None:
    ok = StatusDraft(3)
    ok.summarise(None, "running")
    assert kstatus(_resource(next_status(None, ok, T0))) == "Current"

    stalled = StatusDraft(3)
    stalled.summarise(Stalled("InvalidSpec", "spec.x: bad"), "")
    status = next_status(None, stalled, T0)
    assert kstatus(_resource(status)) == "Failed"
    assert {c["type"]: c["status"] for c in status["conditions"]} == {READY: "False", STALLED: "True"}

    fault = StatusDraft(3)
    fault.summarise(Transient("CloudflareUnavailable", "503"), "")
    status = next_status(status, fault, T1)
    # Stalled goes once it no longer holds; Reconciling comes while retrying.
    assert {c["type"]: c["status"] for c in status["conditions"]} == {READY: "False", RECONCILING: "True"}
    assert kstatus(_resource(status)) == "InProgress"


def test_only_the_final_status_observes_the_generation() -> None:
    previous = next_status(None, _ready(2), T0)
    progress = progress_status(previous, 3, "reconciling generation 3", T1)
    assert progress["observedGeneration"] == 2
    ready = {c["type"]: c for c in progress["conditions"]}[READY]
    assert (ready["status"], ready["reason"], ready["observedGeneration"]) == ("Unknown", "Progressing", 3)
    assert kstatus(_resource(progress)) == "InProgress"
    assert next_status(progress, _ready(3), T1)["observedGeneration"] == 3


def _ready(generation: int) -> StatusDraft:
    draft = StatusDraft(generation)
    draft.summarise(None, "ok")
    return draft


def test_an_unchanged_reconcile_patches_nothing() -> None:
    draft = _ready(3)
    draft.fact("image", {"ref": "r:1"})
    status = next_status(None, draft, T0)
    again = _ready(3)
    again.fact("image", {"ref": "r:1"})
    assert merge_patch(status, next_status(status, again, T1)) == {}


def test_merge_patch_removes_replaces_and_nests() -> None:
    old = {"a": 1, "b": {"c": 1, "d": 2}, "e": [1, 2], "gone": True}
    new = {"a": 1, "b": {"c": 1, "d": 3}, "e": [1]}
    assert merge_patch(old, new) == {"b": {"d": 3}, "e": [1], "gone": None}


def test_kstatus_rules_in_order() -> None:
    assert kstatus({"metadata": {"generation": 1, "deletionTimestamp": "x"}}) == "Terminating"
    assert kstatus({"metadata": {"generation": 2}, "status": {"observedGeneration": 1}}) == "InProgress"
