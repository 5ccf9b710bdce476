"""The Cloudflare layer reads one clock, the one `CloudflareClients` is given: retry deadlines
and waits, the listing's age and the rate window all move with it (here a hand-moved clock, so
minutes of Cloudflare time pass in a moment)."""

from __future__ import annotations

import time

import pytest

from lunora_operator.cloudflare import CloudflareClients, RateBudget, RetryPolicy, ServerError
from lunora_operator.testing import FakeCloudflare, Fault
from tests.support.clock import ManualClock
from tests.support.cloudflare import TOKEN

pytest_plugins = ["tests.support.cloudflare_fixtures"]


async def test_retries_wait_and_stop_at_the_deadline_on_the_given_clock(fake: FakeCloudflare) -> None:
    clock = ManualClock()
    policy = RetryPolicy(deadline=60.0, initial_backoff=4.0, max_backoff=15.0)
    clients = CloudflareClients(retry=policy, clock=clock)
    account = clients.for_account(fake.account_id, TOKEN, base_url=fake.base_url)
    fake.inject("applications.list", Fault.server_error(503, times=None))
    started = time.monotonic()
    try:
        with pytest.raises(ServerError):
            await account.applications.find("demo-web")
    finally:
        await clients.aclose()

    assert time.monotonic() - started < 5.0  # no real wait: the clock was slept on
    assert len(clock.slept) >= 3
    assert clock.elapsed <= policy.deadline  # a wait that would pass the deadline is not started
    assert len(fake.requests("applications.list")) == len(clock.slept) + 1


async def test_a_retry_after_is_waited_on_the_given_clock(fake: FakeCloudflare) -> None:
    clock = ManualClock()
    clients = CloudflareClients(retry=RetryPolicy(deadline=60.0), clock=clock)
    account = clients.for_account(fake.account_id, TOKEN, base_url=fake.base_url)
    fake.inject("applications.list", Fault.rate_limited(retry_after=7))
    try:
        assert await account.applications.find("demo-web") is None
    finally:
        await clients.aclose()
    assert clock.slept == [7.0]


async def test_the_listing_ages_on_the_given_clock(fake: FakeCloudflare) -> None:
    clock = ManualClock()
    clients = CloudflareClients(clock=clock)
    account = clients.for_account(fake.account_id, TOKEN, base_url=fake.base_url)
    try:
        await account.applications.find("a", max_age=5.0)
        clock.advance(4.0)
        await account.applications.find("b", max_age=5.0)
        assert len(fake.requests("applications.list")) == 1
        clock.advance(2.0)
        await account.applications.find("c", max_age=5.0)
    finally:
        await clients.aclose()
    assert len(fake.requests("applications.list")) == 2


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
