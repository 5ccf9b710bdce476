"""`maxInstances`: at most that many instances of a container run or start at once.

An instance holds a place from the moment its run is created until its Pod ends or is being
deleted. A start finding no free place waits, as Cloudflare's start loop does, until one frees
or its budget runs out (then the caller gets the platform's no-instance answer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable

from lunora_operator.local import errors


class Capacity:
    def __init__(self, limit: int, now: Callable[[], float]) -> None:
        self.limit = limit
        self._now = now
        self._holders: set[Hashable] = set()
        self._freed = asyncio.Event()

    @property
    def used(self) -> int:
        return len(self._holders)

    def holds(self, holder: Hashable) -> bool:
        return holder in self._holders

    def hold(self, holder: Hashable) -> None:
        """Counts a run found already going (after a restart), even past the limit."""
        self._holders.add(holder)

    def release(self, holder: Hashable) -> None:
        if holder in self._holders:
            self._holders.discard(holder)
            self._freed.set()
            self._freed = asyncio.Event()

    async def acquire(self, holder: Hashable, deadline: float) -> None:
        while holder not in self._holders:
            if len(self._holders) < self.limit:
                self._holders.add(holder)
                return
            remaining = deadline - self._now()
            if remaining <= 0:
                raise errors.no_instance(f"all {self.limit} instances (maxInstances) are running or starting")
            try:
                await asyncio.wait_for(self._freed.wait(), remaining)
            except TimeoutError:
                continue
