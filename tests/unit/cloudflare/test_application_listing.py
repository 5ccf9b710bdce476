"""find / observe(max_age=…): one listing of the account's applications answers every container's
lookup, yet a name this process just changed is never answered from a stale listing."""

from __future__ import annotations

import asyncio

from lunora_operator.cloudflare import AccountClient, CloudflareClients
from lunora_operator.testing import FakeCloudflare
from tests.support.clock import ManualClock
from tests.support.cloudflare import TOKEN, deployed_namespace, desired

pytest_plugins = ["tests.support.cloudflare_fixtures"]


async def test_many_lookups_cost_one_listing(fake: FakeCloudflare, account: AccountClient) -> None:
    for index in range(3):  # one Durable Object namespace serves one application
        namespace_id = await deployed_namespace(account, f"Web{index}", script=f"demo{index}")
        await account.applications.create(desired(name=f"demo-{index}"), namespace_id)
    fake.clear_requests()
    account.applications.listing.forget_changes()  # as after a restart: nothing changed by this process

    found = await asyncio.gather(*(account.applications.find(f"demo-{i}", max_age=60) for i in range(3)))
    missing = await account.applications.find("demo-9", max_age=60)

    assert [app.name for app in found if app] == ["demo-0", "demo-1", "demo-2"]
    assert missing is None
    assert len(fake.requests("applications.list")) == 1


async def test_a_name_this_process_created_is_looked_up_on_its_own(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    assert await account.applications.find("demo-web", max_age=60) is None  # listed: absent

    created = await account.applications.create(desired(), namespace_id)
    found = await account.applications.find("demo-web", max_age=60)

    assert found == created  # not the listing's stale "absent", which would create it twice


async def test_an_updated_application_is_not_answered_from_the_old_listing(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    await account.applications.create(desired(), namespace_id)
    plan = await account.applications.observe(desired(max_instances=7), namespace_id, max_age=60)
    assert plan is not None
    assert plan.differences == ["max_instances: 3 -> 7"]

    await account.applications.update(plan)
    again = await account.applications.observe(desired(max_instances=7), namespace_id, max_age=60)

    assert again is not None
    assert again.live.max_instances == 7
    assert again.up_to_date


async def test_a_listing_older_than_max_age_is_refreshed(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    await account.applications.find("demo-web", max_age=60)
    namespace_id = await deployed_namespace(account)
    fake_created = await account.applications.create(desired(), namespace_id)
    account.applications.listing.forget_changes()  # someone else created it

    assert await account.applications.find("demo-web", max_age=60) is None  # the listing is young
    assert await account.applications.find("demo-web", max_age=0) == fake_created


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
