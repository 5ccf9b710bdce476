"""A rendered containers[] entry becomes the application the Cloudflare layer is asked for, with
wrangler's defaults for what the entry leaves out."""

from __future__ import annotations

from lunora_operator.cloudflare import Constraints, CustomInstanceType, RolloutPolicy
from lunora_operator.wrangler.application import application_spec


def test_defaults_follow_wrangler() -> None:
    spec = application_spec({"class_name": "WebContainer", "image": "r/a:1"}, {}, "Demo App")
    assert spec.name == "demo-app-webcontainer"
    assert (spec.max_instances, spec.instance_type) == (20, "lite")
    # No steps given: the layer applies wrangler's default rollout.
    assert spec.rollout == RolloutPolicy()
    assert spec.constraints is None
    assert spec.observability_logs is False


def test_entry_values_win() -> None:
    entry = {
        "class_name": "W",
        "image": "r/a:1",
        "name": "custom",
        "max_instances": 5,
        "instance_type": {"vcpu": 1, "memory_mib": 4096, "disk_mb": 8000},
        "rollout_step_percentage": [25, 100],
        "rollout_active_grace_period": 60,
        "constraints": {"regions": ["weur"], "jurisdiction": "eu"},
    }
    spec = application_spec(entry, {"observability": {"logs": {"enabled": True}}}, "w")
    assert spec.name == "custom"
    assert spec.instance_type == CustomInstanceType(vcpu=1, memory_mib=4096, disk_mb=8000)
    assert spec.rollout == RolloutPolicy(steps=[25, 100], active_grace_period=60)
    assert spec.constraints == Constraints(regions=("WEUR",), jurisdiction="eu")
    assert spec.observability_logs is True


def test_one_step_percentage() -> None:
    spec = application_spec({"class_name": "W", "image": "r/a:1", "rollout_step_percentage": 50}, {}, "w")
    assert spec.rollout == RolloutPolicy(step_percentage=50)
