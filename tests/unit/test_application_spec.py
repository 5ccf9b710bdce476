"""A rendered containers[] entry normalised the way wrangler normalises it before the API call."""

from __future__ import annotations

from lunora_operator.reconcile.application import CustomSize, application_spec


def test_defaults_follow_wrangler() -> None:
    spec = application_spec({"class_name": "WebContainer", "image": "r/a:1"}, {}, "Demo App")
    assert spec.name == "demo-app-webcontainer"
    assert (spec.max_instances, spec.instance_type) == (20, "lite")
    assert (spec.step_percentage, spec.steps, spec.rollout_kind) == (None, (10, 100), "full_auto")
    assert spec.observability_logs is False


def test_one_instance_rolls_out_in_one_step() -> None:
    spec = application_spec({"class_name": "W", "image": "r/a:1", "max_instances": 1}, {}, "w")
    assert (spec.step_percentage, spec.steps) == (100, None)


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
    assert spec.instance_type == CustomSize(vcpu=1, memory_mib=4096, disk_mb=8000)
    assert (spec.steps, spec.active_grace_period) == ((25, 100), 60)
    assert (spec.regions, spec.jurisdiction) == (("WEUR",), "eu")
    assert spec.observability_logs is True
