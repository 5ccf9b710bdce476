"""Request bodies the real `wrangler deploy` 4.86.0 sent, captured on the wire against a logging
stand-in API (a registry-image Worker with two containers, a redeploy that changed them, and one
with a custom size, `tier: -1`, a jurisdiction, cities and affinities). The namespace ids and image
account are placeholders filled in by each test. The e2e oracle tier (tests/e2e/wrangler/) runs
wrangler itself; these let the fake's checks of the same bodies run in the unit tier."""

from __future__ import annotations

from typing import Any

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"


def create_lite(namespace_id: str, image: str) -> dict[str, Any]:
    return {
        "name": "wire-demo-web",
        "scheduling_policy": "default",
        "configuration": {
            "image": image,
            "instance_type": "lite",
            "observability": {"logs": {"enabled": True}},
        },
        "instances": 0,
        "max_instances": 3,
        "constraints": {"tiers": [1, 2]},
        "durable_objects": {"namespace_id": namespace_id},
        "rollout_active_grace_period": 0,
    }


def create_standard_in_a_region(namespace_id: str) -> dict[str, Any]:
    return {
        "name": "wire-demo-api",
        "scheduling_policy": "default",
        "configuration": {
            "image": "docker.io/library/nginx:1.27",
            "instance_type": "standard-1",
            "observability": {"logs": {"enabled": True}},
        },
        "instances": 0,
        "max_instances": 4,
        "constraints": {"tiers": [1, 2], "regions": ["WEUR"]},
        "durable_objects": {"namespace_id": namespace_id},
        "rollout_active_grace_period": 0,
    }


def create_custom_size(namespace_id: str, image: str) -> dict[str, Any]:
    """`instance_type: {vcpu: 1, memory_mib: 3072}`, `tier: -1`, jurisdiction, cities, affinities."""
    return {
        "name": "wire-demo3-a",
        "scheduling_policy": "default",
        "configuration": {
            "image": image,
            "disk": {"size_mb": 2000},
            "memory_mib": 3072,
            "vcpu": 1,
            "observability": {"logs": {"enabled": True}},
        },
        "instances": 0,
        "max_instances": 0,
        "constraints": {"jurisdiction": "eu", "cities": ["ams"]},
        "affinities": {"colocation": "datacenter"},
        "durable_objects": {"namespace_id": namespace_id},
        "rollout_active_grace_period": 0,
    }


# The redeploy of the `api` container: regions removed, grace period 30, Worker observability
# removed (so logs are turned off explicitly). wrangler PATCHes the whole subset, then rolls out.
PATCH_AFTER_CHANGES: dict[str, Any] = {
    "configuration": {
        "image": "docker.io/library/nginx:1.27",
        "instance_type": "standard-1",
        "observability": {"logs": {"enabled": False}},
    },
    "max_instances": 4,
    "constraints": {"tiers": [1, 2]},
    "scheduling_policy": "default",
    "rollout_active_grace_period": 30,
}


def rollout_steps(target: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": "Progressive update",
        "strategy": "rolling",
        "target_configuration": target,
        "steps": [
            {"step_size": {"percentage": 25}, "description": "Step 1 of 2 - rollout at 25% of instances"},
            {"step_size": {"percentage": 100}, "description": "Step 2 of 2 - rollout at 100% of instances"},
        ],
        "kind": "full_auto",
    }


def rollout_percentage(target: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": "Progressive update",
        "strategy": "rolling",
        "target_configuration": target,
        "step_percentage": 50,
        "kind": "full_auto",
    }


def upload_metadata(classes: list[str], observability: dict[str, Any] | None) -> dict[str, Any]:
    """A first upload: a binding and a `containers` entry per class, one migration."""
    metadata: dict[str, Any] = {
        "main_module": "index.js",
        "bindings": [
            {"name": name.upper(), "type": "durable_object_namespace", "class_name": name} for name in classes
        ],
        "containers": [{"class_name": name} for name in classes],
        "compatibility_date": "2025-09-01",
        "compatibility_flags": [],
        "migrations": {"new_tag": "v1", "steps": [{"new_sqlite_classes": classes}]},
    }
    if observability is not None:
        metadata["observability"] = observability
    return metadata
