"""The Containers application a rendered `containers[]` entry asks for, with wrangler's
defaults for what the entry leaves out (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from lunora_operator.api.naming import application_name
from lunora_operator.cloudflare import Constraints, CustomInstanceType, DesiredApplication, RolloutPolicy
from lunora_operator.cloudflare.models import RolloutKind

DEFAULT_MAX_INSTANCES = 20
DEFAULT_INSTANCE_TYPE = "lite"


def observability_logs(config: Mapping[str, Any]) -> bool:
    """Container logs follow the Worker's `observability.enabled` or `observability.logs.enabled`."""
    observability = config.get("observability")
    if not isinstance(observability, Mapping):
        return False
    logs = observability.get("logs")
    return observability.get("enabled") is True or (isinstance(logs, Mapping) and logs.get("enabled") is True)


def application_spec(
    entry: Mapping[str, Any], config: Mapping[str, Any], worker_name: str
) -> DesiredApplication:
    """Without `rollout_step_percentage` the rollout is left to the Cloudflare layer, which applies
    wrangler's default (one step below two instances, else 10% then the rest)."""
    size = entry.get("instance_type", DEFAULT_INSTANCE_TYPE)
    instance_type: str | CustomInstanceType = (
        CustomInstanceType(vcpu=size["vcpu"], memory_mib=size["memory_mib"], disk_mb=size["disk_mb"])
        if isinstance(size, Mapping)
        else str(size)
    )
    rollout = entry.get("rollout_step_percentage")
    constraints = entry.get("constraints")
    regions = constraints.get("regions") if isinstance(constraints, Mapping) else None
    jurisdiction = constraints.get("jurisdiction") if isinstance(constraints, Mapping) else None
    grace = entry.get("rollout_active_grace_period")
    return DesiredApplication(
        name=application_name(worker_name, str(entry["class_name"]), entry.get("name")),
        image=str(entry["image"]),
        instance_type=instance_type,
        max_instances=int(entry.get("max_instances", DEFAULT_MAX_INSTANCES)),
        constraints=Constraints(
            regions=tuple(str(r).upper() for r in regions) if isinstance(regions, list) else (),
            jurisdiction=str(jurisdiction) if isinstance(jurisdiction, str) else None,
        )
        if regions or jurisdiction
        else None,
        observability_logs=observability_logs(config),
        rollout=RolloutPolicy(
            step_percentage=rollout if isinstance(rollout, int) else None,
            steps=[int(step) for step in rollout] if isinstance(rollout, list) else None,
            kind=cast(RolloutKind, entry.get("rollout_kind", "full_auto")),
            active_grace_period=int(grace) if isinstance(grace, int) else None,
        ),
    )
