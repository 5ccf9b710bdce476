"""FakeCloudflare's Containers applications: the bodies wrangler 4.86.0 sends are accepted and
stored as it expects them back; Cloudflare's refusals with Cloudflare's codes; deletions and
rollouts that take time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from lunora_operator.testing import AccountLimits, FakeCloudflare
from tests.support import wrangler_wire
from tests.support.cloudflare import TOKEN, call, errors, wrangler_upload

pytest_plugins = ["tests.support.cloudflare_fixtures"]

SOURCE = b"export class Web {}\nexport class Api {}\nexport default {};\n"


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def timed(clock: ManualClock) -> AsyncIterator[FakeCloudflare]:
    async with FakeCloudflare(token=TOKEN, clock=clock) as server:
        yield server


async def deployed(fake: FakeCloudflare) -> dict[str, str]:
    answer = await wrangler_upload(
        fake,
        "wire-demo",
        wrangler_wire.upload_metadata(["Web", "Api"], {"enabled": True}),
        {"index.js": SOURCE},
    )
    assert answer.status_code == 200, answer.text
    return fake.namespaces("wire-demo")


def managed(fake: FakeCloudflare, name: str) -> str:
    image = f"registry.cloudflare.com/{fake.account_id}/{name}"
    fake.add_image(image)
    return image


async def create(fake: FakeCloudflare, body: dict[str, Any]) -> dict[str, Any]:
    answer = await call(fake, "POST", "/containers/applications", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


async def test_wranglers_create_bodies_are_accepted_and_echoed_as_it_expects(fake: FakeCloudflare) -> None:
    namespaces = await deployed(fake)
    web = await create(fake, wrangler_wire.create_lite(namespaces["Web"], managed(fake, "web:1.0")))
    api = await create(fake, wrangler_wire.create_standard_in_a_region(namespaces["Api"]))

    listed = (await call(fake, "GET", "/containers/applications")).json()["result"]
    assert [app["id"] for app in listed] == [web["id"], api["id"]]
    assert web["constraints"] == {"tiers": [1, 2]}
    assert web["configuration"]["observability"] == {"logs": {"enabled": True}}
    assert (web["configuration"]["vcpu"], web["configuration"]["memory_mib"]) == (0.0625, 256)
    assert api["constraints"] == {"tiers": [1, 2], "regions": ["WEUR"]}
    assert "observability" not in web


async def test_a_custom_size_without_tiers_in_a_jurisdiction_and_cities_is_accepted(
    fake: FakeCloudflare,
) -> None:
    namespaces = await deployed(fake)
    app = await create(fake, wrangler_wire.create_custom_size(namespaces["Web"], managed(fake, "a:1.0")))
    assert app["constraints"] == {"jurisdiction": "eu", "cities": ["ams"]}
    assert app["affinities"] == {"colocation": "datacenter"}


async def test_wranglers_patch_replaces_constraints_whole_and_its_rollouts_are_accepted(
    fake: FakeCloudflare,
) -> None:
    namespaces = await deployed(fake)
    api = await create(fake, wrangler_wire.create_standard_in_a_region(namespaces["Api"]))

    patched = await call(
        fake, "PATCH", f"/containers/applications/{api['id']}", json=wrangler_wire.PATCH_AFTER_CHANGES
    )
    assert patched.status_code == 200, patched.text
    stored = fake.application("wire-demo-api")
    assert stored is not None
    assert stored["constraints"] == {"tiers": [1, 2]}  # regions cleared by leaving them out
    assert stored["rollout_active_grace_period"] == 30
    assert stored["configuration"]["observability"] == {"logs": {"enabled": False}}
    target = wrangler_wire.PATCH_AFTER_CHANGES["configuration"]
    for body in (wrangler_wire.rollout_steps(target), wrangler_wire.rollout_percentage(target)):
        rolled = await call(fake, "POST", f"/containers/applications/{api['id']}/rollouts", json=body)
        assert rolled.status_code == 200, rolled.text


async def test_top_level_observability_cannot_join_the_configurations(fake: FakeCloudflare) -> None:
    namespaces = await deployed(fake)
    api = await create(fake, wrangler_wire.create_standard_in_a_region(namespaces["Api"]))
    refused = await call(
        fake,
        "PATCH",
        f"/containers/applications/{api['id']}",
        json={"observability": {"logs": {"enabled": False}}},
    )
    assert refused.status_code == 400
    assert errors(refused)[1] == {
        "error": "VALIDATE_INPUT",
        "details": {"observability": "is mutually exclusive with configuration.observability"},
    }


async def test_durable_object_refusals_carry_cloudflares_codes(fake: FakeCloudflare) -> None:
    namespaces = await deployed(fake)
    missing = await call(
        fake, "POST", "/containers/applications", json=wrangler_wire.create_standard_in_a_region("0" * 32)
    )
    await create(fake, wrangler_wire.create_standard_in_a_region(namespaces["Api"]))
    second = wrangler_wire.create_standard_in_a_region(namespaces["Api"])
    taken = await call(fake, "POST", "/containers/applications", json={**second, "name": "wire-demo-api-2"})

    assert (missing.status_code, errors(missing)[1]["error"]) == (400, "DURABLE_OBJECT_NOT_FOUND")
    assert (taken.status_code, errors(taken)[1]["error"]) == (400, "DURABLE_OBJECT_ALREADY_HAS_APPLICATION")


async def test_creates_over_the_accounts_limits_are_refused(fake: FakeCloudflare) -> None:
    namespaces = await deployed(fake)
    fake.set_limits(AccountLimits(memory_mib_per_deployment=1024, total_vcpu=1.0))
    base = await call(
        fake,
        "POST",
        "/containers/applications",
        json=wrangler_wire.create_standard_in_a_region(namespaces["Api"]),
    )
    total = await call(
        fake,
        "POST",
        "/containers/applications",
        json={**wrangler_wire.create_lite(namespaces["Web"], managed(fake, "web:1")), "max_instances": 17},
    )

    assert errors(base)[1] == {
        "error": "SURPASSED_BASE_LIMITS",
        "details": {"reason": "memory_mib 4096 is over the limit of 1024 per instance"},
    }
    assert errors(total)[1]["error"] == "SURPASSED_TOTAL_LIMITS"
    assert "vcpu 1.0625 at max_instances" in errors(total)[1]["details"]["reason"]
    assert fake.applications() == []
    me = (await call(fake, "GET", "/containers/me")).json()["result"]
    assert me["limits"]["memory_mib_per_deployment"] == 1024


async def test_a_rollout_moves_one_step_per_duration_and_ends_completed(
    timed: FakeCloudflare, clock: ManualClock
) -> None:
    namespaces = await deployed(timed)
    api = await create(timed, wrangler_wire.create_standard_in_a_region(namespaces["Api"]))
    timed.set_durations(rollout_step=10)
    body = wrangler_wire.rollout_steps({"image": "docker.io/library/nginx:1.28"})
    rollout = (await call(timed, "POST", f"/containers/applications/{api['id']}/rollouts", json=body)).json()[
        "result"
    ]

    def seen() -> tuple[str, int, str | None]:
        (found,) = timed.rollouts(api["id"])
        app = timed.application("wire-demo-api")
        assert app is not None
        return found["status"], found["progress"]["current_step"], app.get("active_rollout_id")

    assert seen() == ("progressing", 1, rollout["id"])
    clock.now += 10
    assert seen() == ("progressing", 2, rollout["id"])
    clock.now += 10
    assert seen()[:2] == ("completed", 2)
    listed = await call(timed, "GET", f"/containers/applications/{api['id']}/rollouts")
    assert [found["id"] for found in listed.json()["result"]] == [rollout["id"]]


async def test_a_deletion_takes_its_time_and_holds_the_namespace_meanwhile(
    timed: FakeCloudflare, clock: ManualClock
) -> None:
    namespaces = await deployed(timed)
    api = await create(timed, wrangler_wire.create_standard_in_a_region(namespaces["Api"]))
    timed.set_durations(delete=30)

    deleted = await call(timed, "DELETE", f"/containers/applications/{api['id']}")
    again = await call(
        timed,
        "POST",
        "/containers/applications",
        json=wrangler_wire.create_standard_in_a_region(namespaces["Api"]),
    )
    metadata = wrangler_wire.upload_metadata(["Web"], None)
    metadata["migrations"] = {"old_tag": "v1", "new_tag": "v2", "steps": [{"deleted_classes": ["Api"]}]}
    class_deleted = await wrangler_upload(timed, "wire-demo", metadata, {"index.js": SOURCE})

    assert deleted.status_code == 200
    assert timed.application("wire-demo-api") is not None
    assert errors(again)[1]["error"] == "DURABLE_OBJECT_ALREADY_HAS_APPLICATION"
    assert class_deleted.status_code == 400
    clock.now += 30
    assert timed.application("wire-demo-api") is None
    recreated = await call(
        timed,
        "POST",
        "/containers/applications",
        json=wrangler_wire.create_standard_in_a_region(namespaces["Api"]),
    )
    assert recreated.status_code == 200, recreated.text
