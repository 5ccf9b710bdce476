"""Faults injected by FakeCloudflare and how the layer rides them out (or reports them)."""

from __future__ import annotations

import time

import pytest

from lunora_operator.cloudflare import (
    AccountClient,
    AuthFailed,
    CloudflareClients,
    ConnectionFailed,
    InvalidRequest,
    RateLimited,
    RetryPolicy,
    RolloutPolicy,
    ServerError,
)
from lunora_operator.testing import FakeCloudflare, Fault
from lunora_operator.testing.fake_cloudflare import PERMISSION_CONTAINERS, PERMISSION_SCRIPTS
from tests.support.clock import ManualClock
from tests.support.cloudflare import SCRIPT, TOKEN, deployed_namespace, desired, observed, worker_upload

pytest_plugins = ["tests.support.cloudflare_fixtures"]


def client_with(
    fake: FakeCloudflare, retry: RetryPolicy, token: str = TOKEN
) -> tuple[CloudflareClients, AccountClient]:
    clients = CloudflareClients(retry=retry)
    return clients, clients.for_account(fake.account_id, token, base_url=fake.base_url)


async def test_429_with_retry_after_is_waited_out(fake: FakeCloudflare, account: AccountClient) -> None:
    fake.inject("applications.list", Fault.rate_limited(retry_after=2))

    started = time.monotonic()
    assert await account.applications.find("demo-web") is None
    waited = time.monotonic() - started

    assert waited >= 2.0
    assert [record.status for record in fake.requests("applications.list")] == [429, 200]


async def test_retry_after_beyond_the_deadline_is_handed_to_the_caller(fake: FakeCloudflare) -> None:
    clients, account = client_with(fake, RetryPolicy(deadline=3.0, initial_backoff=0.01))
    fake.inject("applications.list", Fault.rate_limited(retry_after=30))
    try:
        started = time.monotonic()
        with pytest.raises(RateLimited) as limited:
            await account.applications.find("demo-web")
        assert time.monotonic() - started < 2.0
    finally:
        await clients.aclose()
    assert limited.value.retryable is True
    assert limited.value.retry_after == 30
    assert limited.value.reason == "RateLimited"
    assert limited.value.status == 429


async def test_5xx_longer_than_the_deadline_is_a_retryable_error(fake: FakeCloudflare) -> None:
    clients, account = client_with(fake, RetryPolicy(deadline=1.0, initial_backoff=0.05, max_backoff=0.2))
    fake.inject("applications.list", Fault.server_error(503, times=None))
    try:
        started = time.monotonic()
        with pytest.raises(ServerError) as failed:
            await account.applications.find("demo-web")
        elapsed = time.monotonic() - started
    finally:
        await clients.aclose()
    assert failed.value.retryable is True
    assert failed.value.status == 503
    assert failed.value.reason == "CloudflareUnavailable"
    assert "looking up application demo-web: Cloudflare answered 503" in str(failed.value)
    assert elapsed < 1.5
    assert len(fake.requests("applications.list")) >= 3


async def test_a_short_5xx_burst_is_ridden_out(fake: FakeCloudflare, account: AccountClient) -> None:
    fake.inject("applications.list", Fault.server_error(502, times=3))
    assert await account.applications.find("demo-web") is None
    assert [record.status for record in fake.requests("applications.list")] == [502, 502, 502, 200]


async def test_a_create_processed_then_dropped_creates_one_application(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    fake.inject("applications.create", Fault.dropped_after_processing())

    created = await account.applications.create(desired(), namespace_id)

    assert [app["id"] for app in fake.applications()] == [created.id]
    assert [
        (record.operation, record.dropped)
        for record in fake.requests()
        if record.operation.startswith("applications")
    ] == [
        ("applications.create", True),
        ("applications.list", False),
    ]
    assert await account.applications.find("demo-web") == created


async def test_a_create_dropped_before_processing_is_created_on_retry(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    fake.inject("applications.create", Fault.dropped(times=2))

    created = await account.applications.create(desired(), namespace_id)

    assert [app["id"] for app in fake.applications()] == [created.id]
    assert [record.status for record in fake.requests("applications.create")] == [0, 0, 200]


async def test_a_create_that_timed_out_but_went_through_is_not_repeated(fake: FakeCloudflare) -> None:
    clients, account = client_with(
        fake, RetryPolicy(deadline=10.0, initial_backoff=0.6, max_backoff=0.6, request_timeout=0.3)
    )
    try:
        namespace_id = await deployed_namespace(account)
        fake.inject("applications.create", Fault.latency(0.5))

        created = await account.applications.create(desired(), namespace_id)
    finally:
        await clients.aclose()
    assert [app["id"] for app in fake.applications()] == [created.id]


async def test_a_rollout_processed_then_dropped_is_not_repeated(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    live = await account.applications.create(desired(), namespace_id)
    fake.inject("applications.rollouts.create", Fault.dropped_after_processing())

    update = await account.applications.update(
        await observed(
            account,
            desired(image="registry.cloudflare.com/acct/web:2", rollout=RolloutPolicy(step_percentage=50)),
            namespace_id,
        )
    )

    (rollout,) = fake.rollouts(live.id)
    assert update.rollout_id == rollout["id"]


async def test_an_upload_whose_migrations_went_through_is_resent_without_them(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    fake.inject("workers.scripts.update", Fault.dropped_after_processing())

    uploaded = await account.scripts.upload(SCRIPT, worker_upload(["Web"]))

    assert uploaded.migration_tag == "v1"
    first, second = fake.requests("workers.scripts.update")
    assert first.dropped
    assert "migrations" in first.body["metadata"]
    assert second.status == 200
    assert "migrations" not in second.body["metadata"]
    assert set(fake.namespaces(SCRIPT)) == {"Web"}


async def test_connection_refused_is_a_retryable_error(fake: FakeCloudflare) -> None:
    base_url = fake.base_url
    await fake.stop()
    clients = CloudflareClients(retry=RetryPolicy(deadline=0.5, initial_backoff=0.05))
    account = clients.for_account(fake.account_id, TOKEN, base_url=base_url)
    try:
        with pytest.raises(ConnectionFailed) as failed:
            await account.applications.find("demo-web")
    finally:
        await clients.aclose()
    assert failed.value.retryable is True
    assert failed.value.sent is False
    assert "ConnectError" in str(failed.value)


async def test_a_4xx_is_not_retried(fake: FakeCloudflare, account: AccountClient) -> None:
    with pytest.raises(InvalidRequest):
        await account.applications.create(desired(), "f" * 32)
    assert len(fake.requests("applications.create")) == 1


async def test_a_wrong_token_is_refused_once(fake: FakeCloudflare) -> None:
    clients, account = client_with(fake, RetryPolicy(deadline=5.0), token="not-the-token")
    try:
        with pytest.raises(AuthFailed) as refused:
            await account.applications.find("demo-web")
    finally:
        await clients.aclose()
    assert refused.value.status == 401
    assert refused.value.reason == "AuthFailed"
    assert "Workers Containers edit" in str(refused.value)
    assert len(fake.requests()) == 1


async def test_a_token_without_a_permission_gets_403() -> None:
    async with FakeCloudflare(permissions={PERMISSION_CONTAINERS, PERMISSION_SCRIPTS}) as fake:
        clients, account = client_with(fake, RetryPolicy(deadline=5.0))
        try:
            assert await account.applications.find("demo-web") is None
            with pytest.raises(AuthFailed) as refused:
                await account.durable_objects.namespaces(SCRIPT)
        finally:
            await clients.aclose()
    assert refused.value.status == 403


def test_an_empty_token_is_refused_before_any_call() -> None:
    with pytest.raises(AuthFailed, match="token for account abc is empty"):
        CloudflareClients().for_account("abc", "  ")


async def test_the_sdk_does_not_retry_behind_the_layers_back(fake: FakeCloudflare) -> None:
    clients, account = client_with(fake, RetryPolicy(deadline=0.0))
    fake.inject("applications.list", Fault.server_error(503, times=None))
    try:
        with pytest.raises(ServerError):
            await account.applications.find("demo-web")
    finally:
        await clients.aclose()
    assert len(fake.requests("applications.list")) == 1


async def test_credentials_in_the_environment_do_not_replace_the_token(
    fake: FakeCloudflare, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDFLARE_EMAIL", "someone@example.com")
    monkeypatch.setenv("CLOUDFLARE_API_KEY", "global-api-key")
    monkeypatch.setenv("CLOUDFLARE_API_USER_SERVICE_KEY", "service-key")
    clients, account = client_with(fake, RetryPolicy(deadline=1.0))
    try:
        assert await account.applications.find("demo-web") is None
    finally:
        await clients.aclose()


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
