"""The one clock the reconcilers and the Cloudflare layer read, handed to them at construction.

`monotonic()` measures intervals (ages, deadlines, rate windows) on the running event loop's
clock, so a test that fast-forwards the loop (looptime) moves it too; `now()` is the wall clock
for timestamps written into status and for HTTP dates; `sleep()` waits on the loop.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    def now(self) -> datetime:
        """The wall-clock time, timezone-aware (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class EventLoopClock:
    """Intervals from the running event loop, wall time from the system."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "EventLoopClock()"


SYSTEM_CLOCK: Clock = EventLoopClock()
