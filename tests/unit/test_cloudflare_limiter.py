"""The per-account rate limiter: Cloudflare's 1,200 requests per 5 minutes hold in every window.

Timed with looptime's fake event-loop clock (the limiter reads the loop's time), so a burst that
takes minutes of budget runs in a moment.
"""

from __future__ import annotations

import asyncio
import bisect
import time

import pytest

from lunora_operator.cloudflare import AccountClient, CloudflareClients, RateBudget, RetryPolicy
from lunora_operator.cloudflare.limiter import AccountLimiters
from lunora_operator.testing import FakeCloudflare
from tests.support.cloudflare import TOKEN

CLOUDFLARE_REQUESTS, CLOUDFLARE_PERIOD = 1200, 300.0

pytest_plugins = ["tests.support.cloudflare_fixtures"]


def busiest_window(times: list[float], period: float) -> int:
    """The most calls in any half-open window [t, t + period)."""
    times = sorted(times)
    return max(bisect.bisect_left(times, start + period) - index for index, start in enumerate(times))


async def burst(limiters: AccountLimiters, account_id: str, calls: int) -> list[float]:
    loop = asyncio.get_running_loop()
    limiter = limiters.for_account(account_id)
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(loop.time())

    await asyncio.gather(*(one() for _ in range(calls)))
    return times


@pytest.mark.looptime
async def test_a_burst_of_2000_calls_keeps_cloudflares_rate() -> None:
    limiters = AccountLimiters()
    start = asyncio.get_running_loop().time()

    times = await burst(limiters, "account-a", 2000)

    assert len(times) == 2000
    assert busiest_window(times, CLOUDFLARE_PERIOD) <= CLOUDFLARE_REQUESTS
    budget = RateBudget()
    # The first `burst` go at once; the rest drip at the budget's rate, no slower.
    assert sum(1 for moment in times if moment - start < 0.01) == budget.burst
    expected = (2000 - budget.burst) / budget.rate
    assert expected - 1.0 <= max(times) - start <= expected + 1.0


@pytest.mark.looptime
async def test_two_accounts_do_not_share_a_budget() -> None:
    limiters = AccountLimiters()
    start = asyncio.get_running_loop().time()
    await burst(limiters, "account-a", RateBudget().burst)

    times = await burst(limiters, "account-b", RateBudget().burst)

    assert max(times) - start < 1.0
    assert limiters.for_account("account-a") is limiters.for_account("account-a")
    assert limiters.for_account("account-a") is not limiters.for_account("account-b")


def test_a_budget_needs_room_after_its_burst() -> None:
    with pytest.raises(ValueError, match="burst must be between 0 and requests"):
        RateBudget(requests=10, burst=10)


async def test_every_request_of_the_sdk_takes_from_the_accounts_budget(fake: FakeCloudflare) -> None:
    """Wired in: with a budget of 2 at once and then 4 per second, 6 calls on one account take
    about a second, and calls on a second account in between do not wait for them."""
    clients = CloudflareClients(
        budget=RateBudget(requests=6, period=1.0, burst=2), retry=RetryPolicy(deadline=10)
    )
    first: AccountClient = clients.for_account("a" * 32, TOKEN, base_url=fake.base_url)
    second = clients.for_account("b" * 32, TOKEN, base_url=fake.base_url)
    assert clients.for_account("a" * 32, TOKEN, base_url=fake.base_url) is first
    try:
        started = time.monotonic()
        for _ in range(6):
            await first.applications.observe("x")
        elapsed = time.monotonic() - started
        started = time.monotonic()
        await second.applications.observe("x")
        await second.applications.observe("x")
        other = time.monotonic() - started
    finally:
        await clients.aclose()
    assert elapsed >= 0.9
    assert other < 0.5
