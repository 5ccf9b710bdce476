"""Fixtures for tests of the Cloudflare layer: `pytest_plugins = ["tests.support.cloudflare_fixtures"]`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lunora_operator.cloudflare import AccountClient, CloudflareClients
from lunora_operator.testing import FakeCloudflare
from tests.support.cloudflare import FAST_RETRY, TOKEN


@pytest.fixture
async def fake() -> AsyncIterator[FakeCloudflare]:
    async with FakeCloudflare(token=TOKEN) as server:
        yield server


@pytest.fixture
async def clients() -> AsyncIterator[CloudflareClients]:
    made = CloudflareClients(retry=FAST_RETRY)
    yield made
    await made.aclose()


@pytest.fixture
def account(fake: FakeCloudflare, clients: CloudflareClients) -> AccountClient:
    return clients.for_account(fake.account_id, TOKEN, base_url=fake.base_url)
