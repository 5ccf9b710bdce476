"""Application bodies built as wrangler 4.86.0 builds them, compared with what it sent on the wire."""

from __future__ import annotations

import json

import pytest

from lunora_operator.cloudflare import Constraints, CustomInstanceType, DesiredApplication, RolloutPolicy
from lunora_operator.cloudflare.application_plan import plan_update
from lunora_operator.cloudflare.application_wire import (
    application_from_api,
    create_params,
    observability_body,
    rollout_steps,
)
from tests.support import wrangler_wire
from tests.support.cloudflare import api_app, desired


def test_the_create_body_is_wranglers_key_for_key() -> None:
    image = f"registry.cloudflare.com/{wrangler_wire.ACCOUNT}/web:1.0"
    desired = DesiredApplication(name="wire-demo-web", image=image, instance_type="lite", max_instances=3)
    expected = wrangler_wire.create_lite("ns-web", image)

    params = create_params(desired, "ns-web")

    assert json.dumps(params) == json.dumps(expected)  # the same keys in the same order


def test_regions_are_added_to_the_default_tiers() -> None:
    desired = DesiredApplication(
        name="wire-demo-api",
        image="docker.io/library/nginx:1.27",
        instance_type="standard-1",
        max_instances=4,
        constraints=Constraints(regions=("weur",)),
    )
    assert create_params(desired, "ns-api") == wrangler_wire.create_standard_in_a_region("ns-api")


def test_a_custom_size_without_tiers_in_a_jurisdiction() -> None:
    image = f"registry.cloudflare.com/{wrangler_wire.ACCOUNT}/a:1.0"
    desired = DesiredApplication(
        name="wire-demo3-a",
        image=image,
        instance_type=CustomInstanceType(vcpu=1, memory_mib=3072, disk_mb=2000),
        max_instances=0,
        constraints=Constraints(jurisdiction="EU", tiers=None, cities=("AMS",)),
    )
    expected = wrangler_wire.create_custom_size("ns-a", image)
    del expected["affinities"]  # wrangler's experimental affinities are not an operator setting
    assert json.dumps(create_params(desired, "ns-a")) == json.dumps(expected)


@pytest.mark.parametrize(
    ("enabled", "previous", "sent"),
    [
        (True, None, {"logs": {"enabled": True}}),
        (True, False, {"logs": {"enabled": True}}),
        (False, None, None),
        (False, True, {"logs": {"enabled": False}}),
        (False, False, {"logs": {"enabled": False}}),
    ],
)
def test_logs_are_configured_as_wrangler_configures_them(
    enabled: bool, previous: bool | None, sent: dict[str, object] | None
) -> None:
    assert observability_body(enabled, previous) == sent


def test_an_application_wrangler_made_is_read_back_and_needs_nothing() -> None:
    stored = {
        "id": "app-1",
        "name": "wire-demo-api",
        "version": 1,
        "scheduling_policy": "default",
        "max_instances": 4,
        "configuration": {
            "image": "docker.io/library/nginx:1.27",
            "vcpu": 0.5,
            "memory_mib": 4096,
            "disk": {"size_mb": 8000},
            "observability": {"logs": {"enabled": True}},
        },
        "constraints": {"tiers": [1, 2], "regions": ["WEUR"]},
        "durable_objects": {"namespace_id": "ns-api"},
        "rollout_active_grace_period": 0,
    }
    live = application_from_api(stored)
    desired = DesiredApplication(
        name="wire-demo-api",
        image="docker.io/library/nginx:1.27",
        instance_type="standard-1",
        max_instances=4,
        constraints=Constraints(regions=("WEUR",)),
    )

    assert live.observability_logs is True
    assert live.constraints == Constraints(regions=("WEUR",), tiers=(1, 2))
    assert plan_update(live, desired).up_to_date
    without = application_from_api({**stored, "configuration": {"image": "x:1"}})
    assert without.observability_logs is None


def test_removed_regions_are_cleared_by_sending_the_constraints_without_them() -> None:
    live = application_from_api(
        {
            "id": "app-1",
            "name": "wire-demo-api",
            "max_instances": 4,
            "configuration": {"image": "docker.io/library/nginx:1.27", "instance_type": "standard-1"},
            "constraints": {"tiers": [1, 2], "regions": ["WEUR"], "jurisdiction": "eu"},
            "durable_objects": {"namespace_id": "ns-api"},
        }
    )
    desired = DesiredApplication(
        name="wire-demo-api",
        image="docker.io/library/nginx:1.27",
        instance_type="standard-1",
        max_instances=4,
        observability_logs=False,
    )
    plan = plan_update(live, desired)
    assert plan.edit == {"constraints": wrangler_wire.PATCH_AFTER_CHANGES["constraints"]}
    assert plan.target_configuration is None


def test_application_made_by_wrangler_is_normalised() -> None:
    """wrangler sets logs in configuration.observability and sends grace period 0 explicitly."""
    live = application_from_api(
        api_app(
            observability=None,
            configuration={
                "image": "x:1",
                "instance_type": "basic",
                "observability": {"logs": {"enabled": True}},
            },
            rollout_active_grace_period=0,
            constraints={"regions": ["WEUR"], "tiers": [1, 2]},
        )
    )
    assert live.instance_type == "basic"
    assert live.observability_logs is True
    assert live.active_grace_period == 0
    assert tuple(live.constraints.regions) == ("WEUR",)
    assert live.version == 3


def test_create_params_follow_wrangler() -> None:
    params = create_params(desired(instance_type=CustomInstanceType(2, 8192, 16001)), "ns-1")
    assert params == {
        "name": "demo-web",
        "scheduling_policy": "default",
        "instances": 0,
        "max_instances": 3,
        "configuration": {
            "image": "docker.io/acme/web:1",
            "vcpu": 2,
            "memory_mib": 8192,
            "disk": {"size_mb": 16001},
            "observability": {"logs": {"enabled": True}},
        },
        "constraints": {"tiers": [1, 2]},
        "durable_objects": {"namespace_id": "ns-1"},
        "rollout_active_grace_period": 0,
    }
    assert create_params(
        desired(instance_type=CustomInstanceType(2, 8192, 16000), observability_logs=False), "ns"
    )["configuration"] == {
        "image": "docker.io/acme/web:1",
        "instance_type": "standard-3",
    }


def test_rollout_steps_default_as_wrangler() -> None:
    assert rollout_steps(RolloutPolicy(), 1)["steps"][0]["step_size"] == {"percentage": 100}
    assert [step["step_size"]["percentage"] for step in rollout_steps(RolloutPolicy(), 5)["steps"]] == [
        10,
        100,
    ]
    assert rollout_steps(RolloutPolicy(step_percentage=20), 5) == {"step_percentage": 20}
