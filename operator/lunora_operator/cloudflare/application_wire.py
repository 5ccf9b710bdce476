"""Containers applications as the API spells them: answers normalised into typed values, and
the bodies of create, edit and rollout requests built as wrangler builds them (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lunora_operator.cloudflare.models import (
    Application,
    Constraints,
    CustomInstanceType,
    DesiredApplication,
    InstanceType,
    Rollout,
    RolloutPolicy,
    infer_instance_type,
    normalise_instance_type,
)


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def application_from_api(data: Mapping[str, Any]) -> Application:
    """Normalises an application as the API returns it."""
    configuration: Mapping[str, Any] = data.get("configuration") or {}
    instance_type: InstanceType | None = configuration.get("instance_type")
    if instance_type is None:
        disk = configuration.get("disk") or {}
        memory = _integer(configuration.get("memory_mib"))
        disk_mb = _integer(disk.get("size_mb")) if isinstance(disk, Mapping) else None
        instance_type = infer_instance_type(_number(configuration.get("vcpu")), memory, disk_mb)
    constraints: Mapping[str, Any] = data.get("constraints") or {}
    # Top-level observability replaces configuration.observability (the two are exclusive).
    observability = data.get("observability") or configuration.get("observability") or {}
    logs = observability.get("logs") or {}
    durable_objects = data.get("durable_objects") or {}
    health = data.get("health") or {}
    counts = health.get("instances") if isinstance(health, Mapping) else None
    return Application(
        id=str(data["id"]),
        name=str(data["name"]),
        version=int(data.get("version") or 0),
        image=str(configuration.get("image") or ""),
        instance_type=instance_type,
        max_instances=_integer(data.get("max_instances")),
        constraints=Constraints(
            regions=tuple(constraints.get("regions") or ()), jurisdiction=constraints.get("jurisdiction")
        ),
        observability_logs=bool(logs.get("enabled")),
        active_grace_period=int(data.get("rollout_active_grace_period") or 0),
        namespace_id=durable_objects.get("namespace_id"),
        active_rollout_id=data.get("active_rollout_id"),
        scheduling_policy=str(data.get("scheduling_policy") or "default"),
        running_instances=_integer(counts.get("active")) if isinstance(counts, Mapping) else None,
    )


def normalised_constraints(constraints: Constraints | None) -> Constraints:
    """Regions upper case, jurisdiction lower case, as wrangler sends them."""
    if constraints is None:
        return Constraints()
    return Constraints(
        regions=tuple(region.upper() for region in constraints.regions),
        jurisdiction=constraints.jurisdiction.lower() if constraints.jurisdiction else None,
    )


def constraints_body(constraints: Constraints) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if constraints.regions:
        body["regions"] = list(constraints.regions)
    if constraints.jurisdiction:
        body["jurisdiction"] = constraints.jurisdiction
    return body


def configuration_body(desired: DesiredApplication) -> dict[str, Any]:
    """The deployment configuration: image and a named instance type or a custom size."""
    body: dict[str, Any] = {"image": desired.image}
    instance_type = normalise_instance_type(desired.instance_type)
    if isinstance(instance_type, CustomInstanceType):
        body.update(
            vcpu=instance_type.vcpu,
            memory_mib=instance_type.memory_mib,
            disk={"size_mb": instance_type.disk_mb},
        )
    else:
        body["instance_type"] = instance_type
    return body


def create_params(desired: DesiredApplication, namespace_id: str) -> dict[str, Any]:
    """Arguments of `containers.applications.create`, as wrangler builds the body."""
    params: dict[str, Any] = {
        "name": desired.name,
        "scheduling_policy": "default",
        "instances": 0,
        "max_instances": desired.max_instances,
        "configuration": configuration_body(desired),
        "durable_objects": {"namespace_id": namespace_id},
        "observability": {"logs": {"enabled": desired.observability_logs}},
        "rollout_active_grace_period": desired.rollout.active_grace_period or 0,
    }
    constraints = constraints_body(normalised_constraints(desired.constraints))
    if constraints:
        params["constraints"] = constraints
    return params


def rollout_steps(policy: RolloutPolicy, max_instances: int) -> dict[str, Any]:
    """`step_percentage` or `steps` of a rollout, with wrangler's default and step descriptions."""
    if policy.step_percentage is not None:
        return {"step_percentage": policy.step_percentage}
    steps: Sequence[int] = (
        policy.steps if policy.steps is not None else ([100] if max_instances < 2 else [10, 100])
    )
    return {
        "steps": [
            {
                "step_size": {"percentage": percentage},
                "description": f"Step {index} of {len(steps)} - rollout at {percentage}% of instances",
            }
            for index, percentage in enumerate(steps, start=1)
        ]
    }


def dump(model: Any) -> Mapping[str, Any]:
    """The SDK model as plain data, including fields the SDK does not declare (such as sizes)."""
    dumped: Mapping[str, Any] = model.model_dump(by_alias=True)
    return dumped


def rollout_from_api(data: Mapping[str, Any]) -> Rollout:
    progress: Mapping[str, Any] = data.get("progress") or {}
    target: Mapping[str, Any] = data.get("target_configuration") or {}
    return Rollout(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        kind=str(data.get("kind") or "full_auto"),
        current_step=_integer(progress.get("current_step")) or 0,
        total_steps=_integer(progress.get("total_steps")) or len(data.get("steps") or ()),
        target_image=str(target["image"]) if target.get("image") else None,
    )


# --- the four verbs -------------------------------------------------------------------------------
