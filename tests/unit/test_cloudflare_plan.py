"""Pure decisions of the application layer: normalising what the API returns, and the plan."""

from __future__ import annotations

import pytest

from lunora_operator.cloudflare import CustomInstanceType, PermanentError, RolloutPolicy
from lunora_operator.cloudflare.applications import (
    application_from_api,
    check_namespace,
    create_params,
    plan_update,
    rollout_steps,
)
from lunora_operator.cloudflare.models import INSTANCE_TYPES, infer_instance_type
from tests.support.cloudflare import desired


def api_app(**changes: object) -> dict[str, object]:
    app: dict[str, object] = {
        "id": "app-1",
        "name": "demo-web",
        "version": 3,
        "scheduling_policy": "default",
        "instances": 0,
        "max_instances": 3,
        "configuration": {
            "image": "docker.io/acme/web:1",
            "vcpu": 0.5,
            "memory_mib": 4096,
            "disk": {"size_mb": 8000},
            "observability": {"logs": {"enabled": True}},
        },
        "constraints": {"tiers": [1, 2]},
        "durable_objects": {"namespace_id": "ns-1"},
    }
    app.update(changes)
    return app


@pytest.mark.parametrize("name", list(INSTANCE_TYPES))
def test_every_named_type_is_inferred_from_its_sizes(name: str) -> None:
    size = INSTANCE_TYPES[name]
    assert infer_instance_type(size.vcpu, size.memory_mib, size.disk_mb) == name


def test_sizes_of_no_named_type_are_a_custom_type() -> None:
    assert infer_instance_type(3, 9216, 18000) == CustomInstanceType(3, 9216, 18000)
    assert infer_instance_type(None, 9216, 18000) is None


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


def test_plan_of_an_equal_application_is_empty() -> None:
    plan = plan_update(application_from_api(api_app()), desired())
    assert plan.edit == {}
    assert plan.target_configuration is None
    assert plan.differences == []


def test_plan_sends_configuration_changes_to_the_rollout_and_the_rest_to_the_patch() -> None:
    plan = plan_update(
        application_from_api(api_app()),
        desired(image="docker.io/acme/web:2", max_instances=4, observability_logs=False),
    )
    assert plan.edit == {"max_instances": 4}
    assert plan.target_configuration == {
        "image": "docker.io/acme/web:2",
        "instance_type": "standard-1",
        "observability": {"logs": {"enabled": False}},
    }
    assert plan.differences == [
        "configuration.image: 'docker.io/acme/web:1' -> 'docker.io/acme/web:2'",
        "configuration.observability.logs.enabled: True -> False",
        "max_instances: 3 -> 4",
    ]


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


def test_an_application_without_namespace_is_refused() -> None:
    with pytest.raises(PermanentError, match="was not associated with a durable object") as refused:
        check_namespace(application_from_api(api_app(durable_objects=None)), "ns-1")
    assert refused.value.reason == "NamespaceMismatch"
    check_namespace(application_from_api(api_app()), "ns-1")
