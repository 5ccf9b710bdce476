"""Client-side rate limiting: one budget per Cloudflare account, shared by every app on it."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateBudget:
    """Cloudflare allows 1,200 API requests per 5 minutes and blocks a client that exceeds it for
    the next 5 minutes, so the budget must hold in every window, not on average."""

    requests: int = 1200
    period: float = 300.0

    def __post_init__(self) -> None:
        if self.requests < 1 or self.period <= 0:
            raise ValueError("a budget needs at least one request in a positive period")

    def limiter(self) -> SlidingWindowLimiter:
        return SlidingWindowLimiter(self.requests, self.period)


_CLOCK_SLACK = 1e-6


class SlidingWindowLimiter:
    """At most `requests` acquisitions in any `period` seconds: Cloudflare's own rule, so a
    start-up burst may use the whole budget at once and steady work is never slowed below it.

    Written here rather than taken from a library because it must run on the event loop's clock
    (tests fast-forward it) and keep callers in arrival order; leaky buckets such as aiolimiter
    either break the window guarantee or cap the burst far below the budget.
    """

    def __init__(self, requests: int, period: float) -> None:
        self.requests = requests
        self.period = period
        self._granted: deque[float] = deque()
        self._turn = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._turn:  # first come, first served
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                # A grant leaves the window `period` after it was made (within clock rounding).
                while self._granted and now - self._granted[0] >= self.period - _CLOCK_SLACK:
                    self._granted.popleft()
                if len(self._granted) < self.requests:
                    self._granted.append(now)
                    return
                await asyncio.sleep(max(self._granted[0] + self.period - now, _CLOCK_SLACK))


class AccountLimiters:
    """One limiter per account id for the whole process."""

    def __init__(self, budget: RateBudget | None = None) -> None:
        self.budget = budget or RateBudget()
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._lock = threading.Lock()

    def for_account(self, account_id: str) -> SlidingWindowLimiter:
        with self._lock:
            limiter = self._limiters.get(account_id)
            if limiter is None:
                limiter = self._limiters[account_id] = self.budget.limiter()
            return limiter
