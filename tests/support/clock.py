"""A clock a test moves by hand; whatever sleeps on it moves it by the time slept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from lunora_operator.clock import EventLoopClock


class ManualClock:
    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self._start = start
        self.elapsed = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.elapsed)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.elapsed += max(0.0, seconds)


class SteppedWallClock(EventLoopClock):
    """The event loop's intervals and sleeps, but a wall clock that stands still until a test
    moves it (timestamps in status are then known in advance)."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self.wall = start

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
