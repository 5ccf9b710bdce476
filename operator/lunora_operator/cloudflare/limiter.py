"""Client-side rate limiting: one budget per Cloudflare account, shared by every app on it."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aiolimiter import AsyncLimiter


@dataclass(frozen=True)
class RateBudget:
    """Cloudflare allows 1,200 API requests per 5 minutes and blocks a client that exceeds it for
    the next 5 minutes, so the budget must hold in every window, not on average.

    A leaky bucket lets `burst` requests through at once and then drips at `rate`; in any window
    of `period` seconds at most burst + rate x period = `requests` get through.
    """

    requests: int = 1200
    period: float = 300.0
    burst: int = 100

    def __post_init__(self) -> None:
        if not 0 < self.burst < self.requests:
            raise ValueError("burst must be between 0 and requests")

    @property
    def rate(self) -> float:
        """Requests per second after the burst."""
        return (self.requests - self.burst) / self.period

    def limiter(self) -> AsyncLimiter:
        return AsyncLimiter(self.burst, self.burst / self.rate)


class AccountLimiters:
    """One limiter per account id for the whole process."""

    def __init__(self, budget: RateBudget | None = None) -> None:
        self.budget = budget or RateBudget()
        self._limiters: dict[str, AsyncLimiter] = {}
        self._lock = threading.Lock()

    def for_account(self, account_id: str) -> AsyncLimiter:
        with self._lock:
            limiter = self._limiters.get(account_id)
            if limiter is None:
                limiter = self._limiters[account_id] = self.budget.limiter()
            return limiter
