"""Contract: the application verbs and transitions, through the official SDK against FakeCloudflare."""

from __future__ import annotations

import pytest

from lunora_operator.cloudflare import (
    AccountClient,
    Constraints,
    CustomInstanceType,
    NamespaceMismatch,
    RolloutPolicy,
)
from lunora_operator.testing import FakeCloudflare
from tests.support.cloudflare import deployed_namespace, desired, observed

pytest_plugins = ["tests.support.cloudflare_fixtures"]


async def test_absent_application_is_created_with_zero_instances(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    assert await account.applications.find("demo-web") is None

    created = await account.applications.create(desired(), namespace_id)

    assert created.name == "demo-web"
    assert created.namespace_id == namespace_id
    assert created.instance_type == "standard-1"
    stored = fake.application("demo-web")
    assert stored is not None
    assert stored["instances"] == 0
    assert stored["max_instances"] == 3
    assert stored["version"] == 1
    assert stored["durable_objects"] == {"namespace_id": namespace_id}
    assert fake.rollouts(created.id) == []
    found = await account.applications.find("demo-web")
    assert found == created


async def test_equal_application_is_observed_up_to_date_and_not_written(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    created = await account.applications.create(desired(), namespace_id)

    plan = await observed(account, desired(), namespace_id)
    assert plan.live == created
    assert plan.up_to_date
    assert not plan.writes
    fake.clear_requests()
    update = await account.applications.update(plan)

    assert update.patched is False
    assert update.rollout_id is None
    assert update.differences == []
    assert [r.method for r in fake.requests()] == []


async def test_changed_image_rolls_out_once(fake: FakeCloudflare, account: AccountClient) -> None:
    namespace_id = await deployed_namespace(account)
    live = await account.applications.create(desired(), namespace_id)

    update = await account.applications.update(
        await observed(
            account,
            desired(image="registry.cloudflare.com/acct/web:2", rollout=RolloutPolicy(step_percentage=25)),
            namespace_id,
        )
    )

    assert update.differences == [
        "configuration.image: 'registry.cloudflare.com/acct/web:1' -> 'registry.cloudflare.com/acct/web:2'"
    ]
    assert update.rollout_id is not None
    (rollout,) = fake.rollouts(live.id)
    assert rollout["id"] == update.rollout_id
    assert rollout["target_configuration"]["image"] == "registry.cloudflare.com/acct/web:2"
    assert [step["step_size"]["percentage"] for step in rollout["steps"]] == [25, 50, 75, 100]
    (request,) = fake.requests("applications.rollouts.create")
    assert request.body["step_percentage"] == 25
    assert request.body["strategy"] == "rolling"
    assert request.body["kind"] == "full_auto"
    stored = fake.application("demo-web")
    assert stored is not None
    assert stored["version"] == 2
    assert stored["configuration"]["image"] == "registry.cloudflare.com/acct/web:2"
    assert stored["active_rollout_id"] == update.rollout_id
    # Observed again, the application now equals the desired one.
    again = await observed(account, desired(image="registry.cloudflare.com/acct/web:2"), namespace_id)
    assert again.live.version == 2
    assert again.up_to_date


async def test_changed_max_instances_only_is_patched_without_rollout(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    live = await account.applications.create(desired(), namespace_id)

    update = await account.applications.update(
        await observed(account, desired(max_instances=7), namespace_id)
    )

    assert update.patched is True
    assert update.rollout_id is None
    assert update.differences == ["max_instances: 3 -> 7"]
    (patch,) = fake.requests("applications.edit")
    assert patch.body == {"max_instances": 7}
    assert fake.rollouts(live.id) == []
    stored = fake.application("demo-web")
    assert stored is not None
    assert stored["max_instances"] == 7


async def test_patch_and_rollout_together_with_steps_and_grace_period(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    await account.applications.create(desired(), namespace_id)
    wanted = desired(
        image="registry.cloudflare.com/acct/web:3",
        max_instances=4,
        constraints=Constraints(regions=["weur", "enam"], jurisdiction="EU"),
        observability_logs=False,
        rollout=RolloutPolicy(steps=[20, 100], kind="full_manual", active_grace_period=300),
    )

    update = await account.applications.update(await observed(account, wanted, namespace_id))

    assert update.patched is True
    assert update.rollout_id is not None
    (patch,) = fake.requests("applications.edit")
    assert patch.body == {
        "max_instances": 4,
        "constraints": {"regions": ["WEUR", "ENAM"], "jurisdiction": "eu"},
        "rollout_active_grace_period": 300,
        "observability": {"logs": {"enabled": False}},
    }
    (rollout_request,) = fake.requests("applications.rollouts.create")
    assert rollout_request.body["kind"] == "full_manual"
    assert rollout_request.body["steps"] == [
        {"step_size": {"percentage": 20}, "description": "Step 1 of 2 - rollout at 20% of instances"},
        {"step_size": {"percentage": 100}, "description": "Step 2 of 2 - rollout at 100% of instances"},
    ]
    assert (await observed(account, wanted, namespace_id)).up_to_date


async def test_rollout_kind_none_patches_but_does_not_roll_out(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    await account.applications.create(desired(), namespace_id)

    plan = await observed(
        account,
        desired(image="registry.cloudflare.com/acct/web:2", rollout=RolloutPolicy(kind="none")),
        namespace_id,
    )
    update = await account.applications.update(plan)

    assert plan.held
    assert update.rollout_id is None
    assert update.patched is False
    assert len(update.differences) == 1
    assert fake.requests("applications.rollouts.create") == []


async def test_custom_size_equal_to_a_named_type_is_no_difference(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    live = await account.applications.create(desired(instance_type="standard-2"), namespace_id)
    stored = fake.application("demo-web")
    assert stored is not None
    # The API answers with sizes, not the name; the layer infers the name back as wrangler does.
    assert "instance_type" not in stored["configuration"]
    assert stored["configuration"]["vcpu"] == 1
    assert live.instance_type == "standard-2"

    same = desired(instance_type=CustomInstanceType(vcpu=1, memory_mib=6144, disk_mb=12000))
    assert (await observed(account, same, namespace_id)).differences == []


async def test_custom_size_rolls_out_as_sizes(fake: FakeCloudflare, account: AccountClient) -> None:
    namespace_id = await deployed_namespace(account)
    await account.applications.create(desired(), namespace_id)
    custom = CustomInstanceType(vcpu=2, memory_mib=8192, disk_mb=10000)

    await account.applications.update(await observed(account, desired(instance_type=custom), namespace_id))

    (rollout,) = fake.requests("applications.rollouts.create")
    assert rollout.body["target_configuration"] == {
        "image": "registry.cloudflare.com/acct/web:1",
        "vcpu": 2,
        "memory_mib": 8192,
        "disk": {"size_mb": 10000},
    }
    found = await account.applications.find("demo-web")
    assert found is not None
    assert found.instance_type == custom


async def test_namespace_mismatch_is_refused_with_wranglers_text(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    other_namespace = await deployed_namespace(account, "Api", script="other")
    await account.applications.create(desired(), namespace_id)
    fake.clear_requests()

    with pytest.raises(NamespaceMismatch) as refused:
        await account.applications.observe(desired(max_instances=9), other_namespace)

    assert str(refused.value) == (
        "There is already an application with the name demo-web deployed that is associated with a different "
        f"durable object namespace ({namespace_id}). Either change the container name or delete the existing "
        "application first."
    )
    assert refused.value.retryable is False
    assert refused.value.reason == "NamespaceMismatch"
    assert [r.method for r in fake.requests()] == ["GET"]  # looked at, nothing written


async def test_deleted_application_is_gone_and_deleting_again_is_a_no_op(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    live = await account.applications.create(desired(), namespace_id)

    assert await account.applications.delete("demo-web") == live
    assert await account.applications.find("demo-web") is None
    assert fake.applications() == []
    assert await account.applications.delete("demo-web") is None
    assert [r.operation for r in fake.requests("applications.delete")] == ["applications.delete"]


async def test_observe_matches_the_exact_name(account: AccountClient) -> None:
    namespace_id = await deployed_namespace(account)
    other = await deployed_namespace(account, "Api", script="other")
    await account.applications.create(desired(name="demo-web-2"), other)
    assert await account.applications.find("demo-web") is None
    await account.applications.create(desired(), namespace_id)
    found = await account.applications.find("demo-web")
    assert found is not None
    assert found.namespace_id == namespace_id


async def test_a_rollout_is_read_while_under_way_and_once_finished(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    live = await account.applications.create(desired(), namespace_id)
    fake.hold_rollouts()
    update = await account.applications.update(
        await observed(account, desired(image="registry.cloudflare.com/acct/web:2"), namespace_id)
    )
    assert update.rollout_id is not None

    rolling = await account.applications.rollout(live.id, update.rollout_id)
    assert rolling is not None
    assert (rolling.status, rolling.under_way, rolling.current_step, rolling.total_steps) == (
        "progressing",
        True,
        1,
        2,
    )
    assert rolling.target_image == "registry.cloudflare.com/acct/web:2"

    fake.finish_rollout(live.id)
    finished = await account.applications.rollout(live.id, update.rollout_id)
    assert finished is not None
    assert (finished.status, finished.under_way) == ("completed", False)
    reads = len(fake.requests("applications.rollouts.get"))
    assert await account.applications.rollout(live.id, update.rollout_id) == finished
    assert len(fake.requests("applications.rollouts.get")) == reads

    assert await account.applications.rollout(live.id, "no-such-rollout") is None
