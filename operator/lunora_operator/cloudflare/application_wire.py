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


def _observability_logs(data: Mapping[str, Any]) -> bool | None:
    """`configuration.observability.logs.enabled` (or the top-level setting an older client
    wrote); None when neither is set."""
    configuration: Mapping[str, Any] = data.get("configuration") or {}
    for source in (configuration.get("observability"), data.get("observability")):
        logs = source.get("logs") if isinstance(source, Mapping) else None
        if isinstance(logs, Mapping) and isinstance(logs.get("enabled"), bool):
            return bool(logs["enabled"])
    return None


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
    tiers = constraints.get("tiers")
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
            regions=tuple(constraints.get("regions") or ()),
            jurisdiction=constraints.get("jurisdiction"),
            tiers=tuple(tiers) if isinstance(tiers, list) else None,
            cities=tuple(constraints.get("cities") or ()),
        ),
        observability_logs=_observability_logs(data),
        active_grace_period=int(data.get("rollout_active_grace_period") or 0),
        namespace_id=durable_objects.get("namespace_id"),
        active_rollout_id=data.get("active_rollout_id"),
        scheduling_policy=str(data.get("scheduling_policy") or "default"),
        running_instances=_integer(counts.get("active")) if isinstance(counts, Mapping) else None,
    )


def normalised_constraints(constraints: Constraints | None) -> Constraints:
    """As wrangler sends them: regions upper case, jurisdiction and cities lower case; without
    constraints, wrangler's default tiers."""
    if constraints is None:
        return Constraints()
    return Constraints(
        regions=tuple(region.upper() for region in constraints.regions),
        jurisdiction=constraints.jurisdiction.lower() if constraints.jurisdiction else None,
        tiers=tuple(constraints.tiers) if constraints.tiers is not None else None,
        cities=tuple(city.lower() for city in constraints.cities),
    )


def constraints_body(constraints: Constraints) -> dict[str, Any]:
    """Only the keys that are set, as wrangler writes them: a key left out is cleared, because
    the API replaces `constraints` as a whole."""
    body: dict[str, Any] = {}
    if constraints.tiers is not None:
        body["tiers"] = list(constraints.tiers)
    if constraints.regions:
        body["regions"] = list(constraints.regions)
    if constraints.jurisdiction:
        body["jurisdiction"] = constraints.jurisdiction
    if constraints.cities:
        body["cities"] = list(constraints.cities)
    return body


def observability_body(enabled: bool, previous: bool | None) -> dict[str, Any] | None:
    """wrangler's `configuration.observability` (observabilityToConfiguration): logs on when the
    Worker's observability turns them on; off only when the application had a setting before;
    otherwise none at all."""
    if enabled:
        return {"logs": {"enabled": True}}
    if previous is not None:
        return {"logs": {"enabled": False}}
    return None


def configuration_body(desired: DesiredApplication, live: Application | None = None) -> dict[str, Any]:
    """The deployment configuration: image, a named instance type or a custom size, and
    observability (given the live application's, for an update)."""
    body: dict[str, Any] = {"image": desired.image}
    instance_type = normalise_instance_type(desired.instance_type)
    if isinstance(instance_type, CustomInstanceType):
        body.update(
            disk={"size_mb": instance_type.disk_mb},
            memory_mib=instance_type.memory_mib,
            vcpu=instance_type.vcpu,
        )
    else:
        body["instance_type"] = instance_type
    observability = observability_body(
        desired.observability_logs, live.observability_logs if live is not None else None
    )
    if observability is not None:
        body["observability"] = observability
    return body


def create_params(desired: DesiredApplication, namespace_id: str) -> dict[str, Any]:
    """Arguments of `containers.applications.create`, the body wrangler builds
    (containerConfigToCreateRequest): observability inside the configuration, never the
    top-level field (the API takes one or the other)."""
    params: dict[str, Any] = {
        "name": desired.name,
        "scheduling_policy": "default",
        "configuration": configuration_body(desired),
        "instances": 0,
        "max_instances": desired.max_instances,
    }
    constraints = constraints_body(normalised_constraints(desired.constraints))
    if constraints:
        params["constraints"] = constraints
    params["durable_objects"] = {"namespace_id": namespace_id}
    params["rollout_active_grace_period"] = desired.rollout.active_grace_period or 0
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
        created_at=str(data.get("created_at") or ""),
    )


# --- the four verbs -------------------------------------------------------------------------------
