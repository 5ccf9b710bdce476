from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lunora_operator.local.timers import SleepVerdict, hard_deadline, sleep_verdict


def test_sleep_verdicts() -> None:
    assert sleep_verdict(False, 0, 100, 50) is SleepVerdict.IDLE
    assert sleep_verdict(True, 1, 100, 50) is SleepVerdict.BUSY
    assert sleep_verdict(True, 0, 40, 50) is SleepVerdict.LATER
    assert sleep_verdict(True, 0, 50, 50) is SleepVerdict.EXPIRED


def test_the_hard_deadline_counts_from_the_stamp_on_the_pod() -> None:
    wall = datetime(2026, 1, 1, tzinfo=UTC)
    assert hard_deadline(1000.0, wall, wall - timedelta(seconds=25), 60) == 1035.0
    assert hard_deadline(1000.0, wall, wall - timedelta(seconds=90), 60) == 970.0  # overdue: fires at once
    assert hard_deadline(1000.0, wall, None, 60) == 1060.0
