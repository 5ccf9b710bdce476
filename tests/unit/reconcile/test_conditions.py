"""Conditions follow the kstatus contract: Ready always, Reconciling/Stalled only while true,
lastTransitionTime moves only on a status flip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lunora_operator.reconcile.conditions import (
    READY,
    STALLED,
    ConditionUpdate,
    find,
    merge_conditions,
    parse_conditions,
)

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def test_transition_time_moves_only_when_status_flips() -> None:
    first = merge_conditions([], [ConditionUpdate(READY, "False", "Waiting", "a")], 1, T0)
    same_status = merge_conditions(first, [ConditionUpdate(READY, "False", "Other", "b")], 2, T1)
    flipped = merge_conditions(same_status, [ConditionUpdate(READY, "True", "Succeeded", "")], 2, T1)
    assert same_status[0].last_transition_time == T0
    assert same_status[0].reason == "Other"
    assert same_status[0].observed_generation == 2
    assert flipped[0].last_transition_time == T1
    assert flipped[0].to_wire()["lastTransitionTime"] == "2026-11-27T10:05:00Z"


def test_conditions_are_listed_in_catalogue_order_and_dropped_on_request() -> None:
    merged = merge_conditions(
        [],
        [
            ConditionUpdate("Deployed", "True", "Created"),
            ConditionUpdate(STALLED, "True", "X"),
            ConditionUpdate(READY, "False", "X"),
        ],
        1,
        T0,
    )
    assert [c.type for c in merged] == [READY, STALLED, "Deployed"]
    assert [c.type for c in merge_conditions(merged, [], 1, T0, drop=[STALLED])] == [READY, "Deployed"]


def test_written_conditions_are_read_back_and_a_broken_one_is_left_out() -> None:
    written = [
        {
            "type": READY,
            "status": "True",
            "reason": "Succeeded",
            "message": "",
            "lastTransitionTime": "2026-11-27T10:00:00Z",
        },
        {"type": "Deployed", "status": "Maybe", "reason": "?", "lastTransitionTime": "yesterday"},
    ]

    (ready,) = parse_conditions(written)

    assert (ready.type, ready.status, ready.last_transition_time) == (READY, "True", T0)
    assert find(written, "Deployed") is written[1]
    assert find(written, STALLED) is None
