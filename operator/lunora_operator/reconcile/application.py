"""The Containers application a rendered `containers[]` entry asks for, normalised as wrangler
normalises it before calling the API (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_MAX_INSTANCES = 20
DEFAULT_INSTANCE_TYPE = "lite"
RolloutKind = Literal["full_auto", "full_manual", "none"]


@dataclass(frozen=True)
class CustomSize:
    vcpu: float
    memory_mib: int
    disk_mb: int


@dataclass(frozen=True)
class ApplicationSpec:
    """Everything the Cloudflare layer needs to create or update one application."""

    name: str
    image: str
    instance_type: str | CustomSize
    max_instances: int
    regions: tuple[str, ...] | None
    jurisdiction: str | None
    observability_logs: bool
    step_percentage: int | None
    steps: tuple[int, ...] | None
    rollout_kind: RolloutKind
    active_grace_period: int | None


def application_name(worker_name: str, class_name: str) -> str:
    """wrangler's default: `<worker name>-<class name>`, lower-cased, spaces as dashes."""
    return f"{worker_name}-{class_name}".lower().replace(" ", "-")


def observability_logs(config: Mapping[str, Any]) -> bool:
    """Container logs follow the Worker's `observability.enabled` or `observability.logs.enabled`."""
    observability = config.get("observability")
    if not isinstance(observability, Mapping):
        return False
    logs = observability.get("logs")
    return observability.get("enabled") is True or (isinstance(logs, Mapping) and logs.get("enabled") is True)


def application_spec(
    entry: Mapping[str, Any], config: Mapping[str, Any], worker_name: str
) -> ApplicationSpec:
    class_name = str(entry["class_name"])
    max_instances = int(entry.get("max_instances", DEFAULT_MAX_INSTANCES))
    size = entry.get("instance_type", DEFAULT_INSTANCE_TYPE)
    instance_type: str | CustomSize = (
        CustomSize(vcpu=size["vcpu"], memory_mib=size["memory_mib"], disk_mb=size["disk_mb"])
        if isinstance(size, Mapping)
        else str(size)
    )
    # wrangler's default rollout: one step below two instances, else 10% then the rest.
    rollout = entry.get("rollout_step_percentage", 100 if max_instances < 2 else [10, 100])
    constraints = entry.get("constraints") if isinstance(entry.get("constraints"), Mapping) else {}
    regions = constraints.get("regions") if isinstance(constraints, Mapping) else None
    jurisdiction = constraints.get("jurisdiction") if isinstance(constraints, Mapping) else None
    grace = entry.get("rollout_active_grace_period")
    return ApplicationSpec(
        name=str(entry.get("name") or application_name(worker_name, class_name)),
        image=str(entry["image"]),
        instance_type=instance_type,
        max_instances=max_instances,
        regions=tuple(str(r).upper() for r in regions) if isinstance(regions, list) else None,
        jurisdiction=str(jurisdiction) if isinstance(jurisdiction, str) else None,
        observability_logs=observability_logs(config),
        step_percentage=rollout if isinstance(rollout, int) else None,
        steps=tuple(int(s) for s in rollout) if isinstance(rollout, list) else None,
        rollout_kind=entry.get("rollout_kind", "full_auto"),
        active_grace_period=int(grace) if isinstance(grace, int) else None,
    )
