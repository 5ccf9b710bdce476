"""`sleepAfter` and `hardTimeout`: when an instance is stopped without being asked.

sleepAfter: activity is renewed by every request, every WebSocket frame and when the last
in-flight request ends; while a request (or a WebSocket) is in flight the instance never
expires. Renewing only moves a deadline in memory: the timer, when it fires, looks at the
deadline again and re-arms itself if activity moved it, so a busy instance costs no timer work
per request and nothing is written to the API server.

hardTimeout: a lifetime cap counted from the run's start, busy or not. Each timer carries the run
it was armed for; a timer whose run is no longer the current one does nothing, so a stale timer
never stops a fresh run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class SleepVerdict(Enum):
    IDLE = "idle"
    """No run to watch: the timer stays disarmed."""
    BUSY = "busy"
    """Requests are in flight: activity is renewed and the timer re-armed."""
    LATER = "later"
    """Activity moved the deadline: re-arm at it."""
    EXPIRED = "expired"
    """Stop the instance."""


def sleep_verdict(live: bool, inflight: int, now: float, deadline: float) -> SleepVerdict:
    if not live:
        return SleepVerdict.IDLE
    if inflight > 0:
        return SleepVerdict.BUSY
    if now < deadline:
        return SleepVerdict.LATER
    return SleepVerdict.EXPIRED


def hard_deadline(now: float, wall_now: datetime, started_at: datetime | None, seconds: int) -> float:
    """The loop-time deadline of a run that started at wall time `started_at` (stamped on its Pod,
    so a restarted router resumes the countdown rather than starting it over)."""
    if started_at is None:
        return now + seconds
    return now + seconds - (wall_now - started_at).total_seconds()


@dataclass
class Timer:
    """One loop timer that can be re-armed; `fire` runs on the loop."""

    fire: Callable[[], None]
    _handle: asyncio.TimerHandle | None = None
    when: float | None = None

    @property
    def armed(self) -> bool:
        return self._handle is not None

    def arm(self, when: float) -> None:
        self.cancel()
        self.when = when
        self._handle = asyncio.get_running_loop().call_at(when, self._run)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self.when = None

    def _run(self) -> None:
        self._handle = None
        self.when = None
        self.fire()
