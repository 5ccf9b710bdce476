"""The Containers application a rendered `containers[]` entry asks for, normalised as wrangler
4.86 normalises it (getNormalizedContainerOptions): its defaults for what the entry leaves out,
the image resolved under the account, the constraints' tiers (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from lunora_operator.api.naming import application_name
from lunora_operator.cloudflare import Constraints, CustomInstanceType, DesiredApplication, RolloutPolicy
from lunora_operator.cloudflare.models import DEFAULT_TIERS, RolloutKind
from lunora_operator.images.reference import DEFAULT_REGISTRY, resolve_image_name

DEFAULT_MAX_INSTANCES = 20
DEFAULT_INSTANCE_TYPE = "lite"


def observability_logs(config: Mapping[str, Any]) -> bool:
    """Container logs follow the Worker's `observability.enabled` or `observability.logs.enabled`."""
    observability = config.get("observability")
    if not isinstance(observability, Mapping):
        return False
    logs = observability.get("logs")
    return observability.get("enabled") is True or (isinstance(logs, Mapping) and logs.get("enabled") is True)


def entry_application_name(entry: Mapping[str, Any], worker_name: str) -> str:
    return application_name(worker_name, str(entry["class_name"]), entry.get("name"))


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def entry_constraints(entry: Mapping[str, Any]) -> Constraints:
    """wrangler's constraints: regions upper case; jurisdiction and cities lower case; `tiers` as
    written, else `tier` (-1: none at all), else [1, 2]."""
    constraints = entry.get("constraints")
    if not isinstance(constraints, Mapping):
        constraints = {}
    tiers: tuple[int, ...] | None = DEFAULT_TIERS
    if isinstance(constraints.get("tiers"), list):
        tiers = tuple(int(tier) for tier in constraints["tiers"])
    elif isinstance(constraints.get("tier"), int):
        tiers = None if constraints["tier"] == -1 else (int(constraints["tier"]),)
    jurisdiction = constraints.get("jurisdiction")
    return Constraints(
        regions=tuple(region.upper() for region in _strings(constraints.get("regions"))),
        jurisdiction=jurisdiction.lower() if isinstance(jurisdiction, str) else None,
        tiers=tiers,
        cities=tuple(city.lower() for city in _strings(constraints.get("cities"))),
    )


def application_spec(
    entry: Mapping[str, Any],
    config: Mapping[str, Any],
    worker_name: str,
    account_id: str,
    registry: str = DEFAULT_REGISTRY,
) -> DesiredApplication:
    """The application for `entry` on `account_id`, whose image references resolve under
    `registry` (a ForeignImage when it names another account's namespace there). Without
    `rollout_step_percentage` the rollout is left to the Cloudflare layer, which applies
    wrangler's default (one step below two instances, else 10% then the rest)."""
    size = entry.get("instance_type", DEFAULT_INSTANCE_TYPE)
    instance_type: str | CustomInstanceType = (
        CustomInstanceType(
            vcpu=size.get("vcpu", 0.0625),
            memory_mib=size.get("memory_mib", 256),
            disk_mb=size.get("disk_mb", 2000),
        )
        if isinstance(size, Mapping)
        else str(size)
    )
    rollout = entry.get("rollout_step_percentage")
    grace = entry.get("rollout_active_grace_period")
    return DesiredApplication(
        name=entry_application_name(entry, worker_name),
        image=resolve_image_name(account_id, str(entry["image"]), registry),
        instance_type=instance_type,
        max_instances=int(entry.get("max_instances", DEFAULT_MAX_INSTANCES)),
        constraints=entry_constraints(entry),
        observability_logs=observability_logs(config),
        rollout=RolloutPolicy(
            step_percentage=rollout if isinstance(rollout, int) else None,
            steps=[int(step) for step in rollout] if isinstance(rollout, list) else None,
            kind=cast(RolloutKind, entry.get("rollout_kind", "full_auto")),
            active_grace_period=int(grace) if isinstance(grace, int) else None,
        ),
    )
