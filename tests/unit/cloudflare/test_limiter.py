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
from tests.support.clock import ManualClock
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
    # The whole budget goes at once; the rest as soon as the window lets them, no later.
    assert sum(1 for moment in times if moment - start < 0.01) == CLOUDFLARE_REQUESTS
    assert CLOUDFLARE_PERIOD <= max(times) - start <= CLOUDFLARE_PERIOD + 1.0


@pytest.mark.looptime
async def test_calls_at_the_budgets_pace_are_never_held() -> None:
    limiter = RateBudget(requests=10, period=1.0).limiter()
    loop = asyncio.get_running_loop()
    waited = 0.0
    for _ in range(40):  # 10 per second: exactly the budget in every window
        before = loop.time()
        await limiter.acquire()
        waited += loop.time() - before
        await asyncio.sleep(0.1)
    await limiter.acquire()  # an 11th within the last second waits
    assert waited == 0.0
    assert loop.time() - before >= 0.1


@pytest.mark.looptime
async def test_two_accounts_do_not_share_a_budget() -> None:
    limiters = AccountLimiters()
    start = asyncio.get_running_loop().time()
    await burst(limiters, "account-a", RateBudget().requests)

    times = await burst(limiters, "account-b", RateBudget().requests)

    assert max(times) - start < 1.0
    assert limiters.for_account("account-a") is limiters.for_account("account-a")
    assert limiters.for_account("account-a") is not limiters.for_account("account-b")


def test_a_budget_needs_a_request_and_a_period() -> None:
    with pytest.raises(ValueError, match="at least one request in a positive period"):
        RateBudget(requests=0)


async def test_every_request_of_the_sdk_takes_from_the_accounts_budget(fake: FakeCloudflare) -> None:
    """Wired in: with a budget of 2 per half second, 6 calls on one account take about a
    second, and calls on a second account in between do not wait for them."""
    clients = CloudflareClients(budget=RateBudget(requests=2, period=0.5), retry=RetryPolicy(deadline=10))
    first: AccountClient = clients.for_account("a" * 32, TOKEN, base_url=fake.base_url)
    second = clients.for_account("b" * 32, TOKEN, base_url=fake.base_url)
    assert clients.for_account("a" * 32, TOKEN, base_url=fake.base_url) is first
    try:
        started = time.monotonic()
        for _ in range(6):
            await first.applications.find("x")
        elapsed = time.monotonic() - started
        started = time.monotonic()
        await second.applications.find("x")
        await second.applications.find("x")
        other = time.monotonic() - started
    finally:
        await clients.aclose()
    assert elapsed >= 0.9
    assert other < 0.5


async def test_the_rate_window_runs_on_the_given_clock(fake: FakeCloudflare) -> None:
    clock = ManualClock()
    clients = CloudflareClients(budget=RateBudget(requests=2, period=300.0), clock=clock)
    account = clients.for_account(fake.account_id, TOKEN, base_url=fake.base_url)
    try:
        for _ in range(3):
            await account.durable_objects.namespaces("demo")
    finally:
        await clients.aclose()
    assert clock.elapsed == pytest.approx(300.0)  # the third request waited for the window
