"""Client-side rate limiting: one budget per Cloudflare account, shared by every app on it."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass

from lunora_operator.clock import SYSTEM_CLOCK, Clock


@dataclass(frozen=True)
class RateBudget:
    """Cloudflare allows 1,200 API requests per 5 minutes and blocks a client that exceeds it for
    the next 5 minutes, so the budget must hold in every window, not on average."""

    requests: int = 1200
    period: float = 300.0

    def __post_init__(self) -> None:
        if self.requests < 1 or self.period <= 0:
            raise ValueError("a budget needs at least one request in a positive period")

    def limiter(self, clock: Clock = SYSTEM_CLOCK) -> SlidingWindowLimiter:
        return SlidingWindowLimiter(self.requests, self.period, clock)


_CLOCK_SLACK = 1e-6


class SlidingWindowLimiter:
    """At most `requests` acquisitions in any `period` seconds: Cloudflare's own rule, so a
    start-up burst may use the whole budget at once and steady work is never slowed below it.

    Written here rather than taken from a library because it must run on the injected clock
    (tests fast-forward the event loop's) and keep callers in arrival order; leaky buckets such as aiolimiter
    either break the window guarantee or cap the burst far below the budget.
    """

    def __init__(self, requests: int, period: float, clock: Clock = SYSTEM_CLOCK) -> None:
        self.requests = requests
        self.period = period
        self._clock = clock
        self._granted: deque[float] = deque()
        self._turn = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._turn:  # first come, first served
            while True:
                now = self._clock.monotonic()
                # A grant leaves the window `period` after it was made (within clock rounding).
                while self._granted and now - self._granted[0] >= self.period - _CLOCK_SLACK:
                    self._granted.popleft()
                if len(self._granted) < self.requests:
                    self._granted.append(now)
                    return
                await self._clock.sleep(max(self._granted[0] + self.period - now, _CLOCK_SLACK))


class AccountLimiters:
    """One limiter per account id for the whole process."""

    def __init__(self, budget: RateBudget | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.budget = budget or RateBudget()
        self._clock = clock
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._lock = threading.Lock()

    def for_account(self, account_id: str) -> SlidingWindowLimiter:
        with self._lock:
            limiter = self._limiters.get(account_id)
            if limiter is None:
                limiter = self._limiters[account_id] = self.budget.limiter(self._clock)
            return limiter
