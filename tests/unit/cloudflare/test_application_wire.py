"""The API's shapes: an application as the API answers normalised, and request bodies built as wrangler builds them."""

from __future__ import annotations

from lunora_operator.cloudflare import CustomInstanceType, RolloutPolicy
from lunora_operator.cloudflare.application_wire import application_from_api, create_params, rollout_steps
from tests.support.cloudflare import api_app, desired


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
            "image": "registry.cloudflare.com/acct/web:1",
            "vcpu": 2,
            "memory_mib": 8192,
            "disk": {"size_mb": 16001},
        },
        "durable_objects": {"namespace_id": "ns-1"},
        "observability": {"logs": {"enabled": True}},
        "rollout_active_grace_period": 0,
    }
    assert create_params(desired(instance_type=CustomInstanceType(2, 8192, 16000)), "ns")[
        "configuration"
    ] == {
        "image": "registry.cloudflare.com/acct/web:1",
        "instance_type": "standard-3",
    }


def test_rollout_steps_default_as_wrangler() -> None:
    assert rollout_steps(RolloutPolicy(), 1)["steps"][0]["step_size"] == {"percentage": 100}
    assert [step["step_size"]["percentage"] for step in rollout_steps(RolloutPolicy(), 5)["steps"]] == [
        10,
        100,
    ]
    assert rollout_steps(RolloutPolicy(step_percentage=20), 5) == {"step_percentage": 20}
