"""CloudflareClients: one client per (account, base URL, token); a rotated token's client is
closed and dropped once nothing uses it, so rotations leave no open HTTP client behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from lunora_operator.cloudflare import AccountClient, CloudflareClients
from lunora_operator.testing import FakeCloudflare, Fault
from tests.support.cloudflare import FAST_RETRY, SCRIPT

pytest_plugins = ["tests.support.cloudflare_fixtures"]


@pytest.fixture
async def open_fake() -> AsyncIterator[FakeCloudflare]:
    async with FakeCloudflare() as server:  # any token is accepted: rotations need no set-up
        yield server


async def closed(client: AccountClient) -> bool:
    """Whether the client's HTTP client closes (it closes in a task of its own) within 2 s."""
    for _ in range(200):
        if client.sdk.is_closed():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_rotated_token_closes_and_drops_the_old_client(
    open_fake: FakeCloudflare, clients: CloudflareClients
) -> None:
    before = clients.for_account(open_fake.account_id, "token-before", base_url=open_fake.base_url)
    await before.durable_objects.namespaces(SCRIPT)

    after = clients.for_account(open_fake.account_id, "token-after", base_url=open_fake.base_url)

    assert after is not before
    assert await closed(before)
    assert not after.sdk.is_closed()
    assert await after.durable_objects.namespaces(SCRIPT) == {}
    # The old token again is a new client, not the closed one.
    again = clients.for_account(open_fake.account_id, "token-before", base_url=open_fake.base_url)
    assert again is not before
    assert not again.sdk.is_closed()


async def test_the_same_token_keeps_its_client(open_fake: FakeCloudflare, clients: CloudflareClients) -> None:
    first = clients.for_account(open_fake.account_id, "token", base_url=open_fake.base_url)

    # A Secret written with --from-file ends in a newline: the same token.
    assert clients.for_account(open_fake.account_id, "token\n", base_url=open_fake.base_url) is first
    assert not first.sdk.is_closed()


async def test_a_client_another_holder_uses_stays_open(
    open_fake: FakeCloudflare, clients: CloudflareClients
) -> None:
    shared = clients.for_account(open_fake.account_id, "shared", base_url=open_fake.base_url, holder="app-a")
    assert (
        clients.for_account(open_fake.account_id, "shared", base_url=open_fake.base_url, holder="app-b")
        is shared
    )

    rotated = clients.for_account(
        open_fake.account_id, "rotated", base_url=open_fake.base_url, holder="app-a"
    )

    assert rotated is not shared
    assert not await closed(shared)  # app-b still uses it
    assert await shared.durable_objects.namespaces(SCRIPT) == {}
    clients.release("app-b")
    assert await closed(shared)
    assert not rotated.sdk.is_closed()


async def test_a_call_under_way_ends_before_its_rotated_client_closes(
    open_fake: FakeCloudflare, clients: CloudflareClients
) -> None:
    before = clients.for_account(open_fake.account_id, "token-before", base_url=open_fake.base_url)
    open_fake.inject("durable_objects.namespaces.list", Fault.latency(0.5))
    slow = asyncio.create_task(before.durable_objects.namespaces(SCRIPT))
    await asyncio.sleep(0)  # the task starts its call; the fake holds the answer for 0.5 s
    assert before.transport.calls_under_way == 1

    clients.for_account(open_fake.account_id, "token-after", base_url=open_fake.base_url)
    await clients.retirements()

    assert not before.sdk.is_closed()
    assert await slow == {}
    assert before.sdk.is_closed()  # by the end of the last call


async def test_closing_the_clients_closes_every_client(open_fake: FakeCloudflare) -> None:
    clients = CloudflareClients(retry=FAST_RETRY)
    one = clients.for_account(open_fake.account_id, "one", base_url=open_fake.base_url, holder="a")
    two = clients.for_account(open_fake.account_id, "two", base_url=open_fake.base_url, holder="b")

    await clients.aclose()

    assert one.sdk.is_closed()
    assert two.sdk.is_closed()
