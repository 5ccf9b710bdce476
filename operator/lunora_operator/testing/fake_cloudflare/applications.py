"""The rules Cloudflare enforces on Containers applications and their rollouts, apart from HTTP.

Rules stated as Cloudflare's are Cloudflare's; where Cloudflare's exact behaviour is unknown, the
fake is stricter and says so in its error text ("FakeCloudflare: …"). Deletions and rollouts take
the time the fake's `Durations` say (none by default); `advance` moves them on.
"""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lunora_operator.api.container import (
    CUSTOM_DISK_MB_MAX,
    CUSTOM_MEMORY_MIB_MAX,
    CUSTOM_VCPU_MAX,
    CUSTOM_VCPU_MIN,
    DISK_MB_PER_GIB,
    MEMORY_MIB_PER_VCPU,
)
from lunora_operator.cloudflare.models import INSTANCE_TYPES, InstanceSize
from lunora_operator.testing.fake_cloudflare.account import Account, AccountLimits, now
from lunora_operator.testing.fake_cloudflare.errors import ApiError, containers_error, validation_error

SIZE_KEYS = ("vcpu", "memory_mib", "disk", "instance_type")
# wrangler still sends the deprecated names as written; they are the sizes of `lite` and `standard-1`.
INSTANCE_SIZES: Mapping[str, InstanceSize] = {
    **INSTANCE_TYPES,
    "dev": INSTANCE_TYPES["lite"],
    "standard": INSTANCE_TYPES["standard-1"],
}
UNDER_WAY = ("pending", "progressing")


@dataclass(frozen=True)
class Durations:
    """How long things take on the fake: each step of a `full_auto` rollout, and a deletion
    (the application stays listed, and keeps its Durable Object namespace, until it ends)."""

    rollout_step: float = 0.0
    delete: float = 0.0


def check_custom_size(configuration: Mapping[str, Any], prefix: str) -> None:
    """Custom instance sizes within Cloudflare's limits (vCPU 1–4, memory ≤ 12 GiB and ≥ 3 GiB
    per vCPU, disk ≤ 20 GB and ≤ 2 GB per GiB of memory); the disk text is Cloudflare's."""
    if not any(key in configuration for key in ("vcpu", "memory_mib", "disk")):
        return
    details: dict[str, str] = {}
    if "instance_type" in configuration:
        details[f"{prefix}instance_type"] = "cannot be combined with vcpu, memory_mib or disk"
    vcpu = configuration.get("vcpu")
    memory = configuration.get("memory_mib")
    disk = (configuration.get("disk") or {}).get("size_mb")
    for key, value in (("vcpu", vcpu), ("memory_mib", memory), ("disk", disk)):
        if value is None:
            details[f"{prefix}{key}"] = "is required for a custom instance size"
    if details:
        raise validation_error(details)
    assert vcpu is not None
    assert memory is not None
    assert disk is not None
    if not CUSTOM_VCPU_MIN <= vcpu <= CUSTOM_VCPU_MAX:
        details[f"{prefix}vcpu"] = (
            f"must be between {CUSTOM_VCPU_MIN} and {CUSTOM_VCPU_MAX} for a custom instance"
        )
    if memory > CUSTOM_MEMORY_MIB_MAX:
        details[f"{prefix}memory_mib"] = f"Cannot have more than {CUSTOM_MEMORY_MIB_MAX} MiB of memory"
    elif memory < MEMORY_MIB_PER_VCPU * vcpu:
        details[f"{prefix}memory_mib"] = f"Must have at least {MEMORY_MIB_PER_VCPU} MiB of memory per vCPU"
    if disk > CUSTOM_DISK_MB_MAX:
        details[f"{prefix}disk"] = f"Cannot have more than {CUSTOM_DISK_MB_MAX} MB of disk"
    elif disk * 1024 > memory * DISK_MB_PER_GIB:
        details[f"{prefix}disk"] = "Cannot have more GB disk than 2X your memory allotment in GiB"
    if details:
        raise validation_error(details)


def stored_configuration(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration as the API returns it: a named instance type comes back as its sizes
    (wrangler infers the name back from them)."""
    stored = copy.deepcopy(dict(configuration))
    name = stored.pop("instance_type", None)
    if name is not None:
        size = INSTANCE_SIZES[name]
        stored.update(vcpu=size.vcpu, memory_mib=size.memory_mib, disk={"size_mb": size.disk_mb})
    return stored


def merged_configuration(current: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(current))
    if any(key in change for key in SIZE_KEYS):
        for key in SIZE_KEYS:
            merged.pop(key, None)
    merged.update(stored_configuration(change))
    return merged


def _check_observability(app: Mapping[str, Any]) -> None:
    """The API says top-level `observability` and `configuration.observability` exclude each other."""
    if "observability" in app and "observability" in (app.get("configuration") or {}):
        raise validation_error({"observability": "is mutually exclusive with configuration.observability"})


# --- limits -----------------------------------------------------------------------------------------


def _size(configuration: Mapping[str, Any]) -> tuple[float, int, int]:
    disk = configuration.get("disk") or {}
    return (
        float(configuration.get("vcpu") or 0),
        int(configuration.get("memory_mib") or 0),
        int(disk.get("size_mb") or 0),
    )


def check_limits(account: Account, limits: AccountLimits, app: Mapping[str, Any]) -> None:
    """`app` (as it would be stored) within the account's limits: its instance size
    (`SURPASSED_BASE_LIMITS`) and, at every application's `max_instances`, the account's total
    (`SURPASSED_TOTAL_LIMITS`)."""
    vcpu, memory, disk = _size(app["configuration"])
    over = [
        f"{what} {value} is over the limit of {limit} per instance"
        for what, value, limit in (
            ("vcpu", vcpu, limits.vcpu_per_deployment),
            ("memory_mib", memory, limits.memory_mib_per_deployment),
            ("disk_mb", disk, limits.disk_mb_per_deployment),
        )
        if value > limit
    ]
    if over:
        raise containers_error("SURPASSED_BASE_LIMITS", {"reason": "; ".join(over)})
    totals = [0.0, 0, 0]
    for other in [*(a for a in account.applications.values() if a["id"] != app.get("id")), app]:
        count = int(other.get("max_instances") or 0)
        for index, value in enumerate(_size(other["configuration"])):
            totals[index] += value * count
    over = [
        f"{what} {value:g} at max_instances is over the account's limit of {limit}"
        for what, value, limit in (
            ("vcpu", totals[0], limits.total_vcpu),
            ("memory_mib", totals[1], limits.total_memory_mib),
            ("disk_mb", totals[2], limits.total_disk_mb),
        )
        if value > limit
    ]
    if over:
        raise containers_error("SURPASSED_TOTAL_LIMITS", {"reason": "; ".join(over)})


# --- applications -----------------------------------------------------------------------------------


def create_application(account: Account, body: Mapping[str, Any], limits: AccountLimits) -> dict[str, Any]:
    configuration = body.get("configuration") or {}
    check_custom_size(configuration, "configuration.")
    _check_observability(body)
    namespace_id = (body.get("durable_objects") or {}).get("namespace_id")
    if namespace_id is not None:
        _check_container_namespace(account, namespace_id)
    created = now()
    app: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "account_id": account.id,
        "name": body["name"],
        "scheduling_policy": body["scheduling_policy"],
        "instances": body.get("instances", 0),
        "max_instances": body.get("max_instances"),
        "version": 1,
        "created_at": created,
        "updated_at": created,
        "configuration": stored_configuration(configuration),
        "rollout_active_grace_period": body.get("rollout_active_grace_period", 0),
        "health": {"instances": {"active": 0, "assigned": 0}, "errors": []},
    }
    for key in ("constraints", "affinities", "observability", "durable_objects"):
        if key in body:
            app[key] = copy.deepcopy(body[key])
    check_limits(account, limits, app)
    account.applications[app["id"]] = app
    account.rollouts[app["id"]] = []
    return app


def _check_container_namespace(account: Account, namespace_id: str) -> None:
    """Cloudflare's codes; their `details` texts are not public, so these are the fake's words."""
    field_name = "durable_objects.namespace_id"
    namespace = account.namespaces.get(namespace_id)
    if namespace is None:
        raise containers_error(
            "DURABLE_OBJECT_NOT_FOUND", {field_name: f"no Durable Object namespace {namespace_id}"}
        )
    script = account.scripts.get(namespace["script"])
    if script is None or namespace["class"] not in script.container_classes:
        raise containers_error(
            "DURABLE_OBJECT_NOT_CONTAINER_ENABLED",
            {
                field_name: f"class {namespace['class']} of Worker {namespace['script']} has no containers "
                "entry in the Worker's upload metadata"
            },
        )
    for other in account.applications_on(namespace_id):
        raise containers_error(
            "DURABLE_OBJECT_ALREADY_HAS_APPLICATION",
            {
                field_name: f"namespace {namespace_id} already serves application {other['name']} ({other['id']})"
            },
        )


def find_application(account: Account, application_id: str) -> dict[str, Any]:
    app = account.applications.get(application_id)
    if app is None:
        raise ApiError(
            404, "", 1000, containers_error="APPLICATION_NOT_FOUND", details={"id": application_id}
        )
    return app


def edit_application(
    account: Account, application_id: str, body: Mapping[str, Any], limits: AccountLimits
) -> dict[str, Any]:
    """Replaces each top-level field the body holds (`constraints` whole: a key left out is gone),
    merges `configuration` (sizes as a whole)."""
    app = find_application(account, application_id)
    edited = copy.deepcopy(app)
    for key in (
        "max_instances",
        "constraints",
        "affinities",
        "scheduling_policy",
        "rollout_active_grace_period",
        "observability",
    ):
        if key in body:
            edited[key] = copy.deepcopy(body[key])
    if body.get("configuration"):
        check_custom_size(body["configuration"], "configuration.")
        edited["configuration"] = merged_configuration(app["configuration"], body["configuration"])
        edited["version"] += 1
    _check_observability(edited)
    check_limits(account, limits, edited)
    edited["updated_at"] = now()
    app.clear()
    app.update(edited)
    return app


def delete_application(account: Account, application_id: str, clock: float, durations: Durations) -> str:
    """Starts the deletion: the application (and its hold on its namespace) goes when it ends."""
    app = find_application(account, application_id)
    account.deleting.setdefault(app["id"], clock + durations.delete)
    advance(account, clock, durations)
    return f"Deletion of application {app['id']} started"


# --- rollouts ---------------------------------------------------------------------------------------


def check_rollout_steps(body: Mapping[str, Any]) -> None:
    """One of `step_percentage` or `steps`; steps 10–100, ascending, ending at 100."""
    if "step_percentage" in body and "steps" in body:
        raise validation_error({"steps": "Specify only one of step_percentage or steps"})
    percentages = [step["step_size"]["percentage"] for step in body.get("steps") or []]
    if "steps" in body and not percentages:
        raise validation_error({"steps": "must not be empty"})
    if any(not 10 <= percentage <= 100 for percentage in percentages):
        raise validation_error({"steps": f"step percentages must be between 10 and 100, got {percentages}"})
    if percentages and (percentages != sorted(set(percentages)) or percentages[-1] != 100):
        raise validation_error({"steps": f"step percentages must ascend and end at 100, got {percentages}"})


def find_rollout(account: Account, application_id: str, rollout_id: str) -> dict[str, Any]:
    find_application(account, application_id)
    for rollout in account.rollouts.get(application_id, []):
        if rollout["id"] == rollout_id:
            return rollout
    raise ApiError(404, "", 1000, containers_error="ROLLOUT_NOT_FOUND", details={"id": rollout_id})


def list_rollouts(account: Account, application_id: str) -> list[dict[str, Any]]:
    """The application's rollouts, newest first."""
    find_application(account, application_id)
    return list(reversed(account.rollouts.get(application_id, [])))


def _end_rollout(account: Account, app: dict[str, Any], rollout: dict[str, Any], status: str) -> None:
    stamp = now()
    rollout["status"] = status
    rollout["last_updated_at"] = stamp
    for step in rollout["steps"]:
        step["status"] = status
    account.rollout_started.pop(rollout["id"], None)
    if app.get("active_rollout_id") == rollout["id"]:
        del app["active_rollout_id"]  # an ended rollout is no longer the application's active one
    if status == "completed":
        rollout["progress"]["current_step"] = rollout["progress"]["total_steps"]
    else:
        app["configuration"] = copy.deepcopy(rollout["current_configuration"])
        app["version"] += 1
        app["updated_at"] = stamp


def finish_rollout(account: Account, application_id: str, status: str) -> dict[str, Any]:
    """Ends the application's latest rollout as `completed` or `reverted` (the application goes
    back to the configuration it had before the rollout)."""
    app = find_application(account, application_id)
    rollout = account.rollouts[application_id][-1]
    _end_rollout(account, app, rollout, status)
    return rollout


def create_rollout(
    account: Account,
    application_id: str,
    body: Mapping[str, Any],
    clock: float,
    durations: Durations,
    hold: bool = False,
) -> dict[str, Any]:
    """A `full_auto` rollout moves one step per `durations.rollout_step` (all at once without
    one) unless `hold`, then it stays at its first step until a test finishes it; a `full_manual`
    one waits at its first step for someone to advance it."""
    app = find_application(account, application_id)
    target = body["target_configuration"]
    check_custom_size(target, "target_configuration.")
    check_rollout_steps(body)
    kind = body.get("kind", "full_auto")
    percentages = (
        [step["step_size"]["percentage"] for step in body["steps"]]
        if "steps" in body
        else list(range(body.get("step_percentage", 100), 101, body.get("step_percentage", 100)))
    )
    target_configuration = merged_configuration(app["configuration"], target)
    _check_observability({**app, "configuration": target_configuration})
    created = now()
    for previous in account.rollouts[application_id]:
        if previous["status"] in UNDER_WAY:
            previous["status"] = "replaced"
            previous["last_updated_at"] = created
            account.rollout_started.pop(previous["id"], None)
    rollout: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "description": body["description"],
        "strategy": body["strategy"],
        "kind": kind,
        "created_at": created,
        "last_updated_at": created,
        "started_at": created,
        "current_version": app["version"],
        "target_version": app["version"] + 1,
        "current_configuration": copy.deepcopy(app["configuration"]),
        "target_configuration": copy.deepcopy(target_configuration),
        "status": "progressing" if kind == "full_auto" else "pending",
        "health": {"instances": {"active": 0, "assigned": 0}, "errors": []},
        "steps": [
            {
                "id": index,
                "step_size": {"percentage": percentage},
                "description": f"Step {index} of {len(percentages)}",
                "status": "pending",
            }
            for index, percentage in enumerate(percentages, start=1)
        ],
        "progress": {
            "total_steps": len(percentages),
            "current_step": 1 if kind == "full_auto" else 0,
            "updated_instances": 0,
            "total_instances": 0,
        },
    }
    account.rollouts[application_id].append(rollout)
    app["configuration"] = target_configuration
    app["version"] += 1
    app["active_rollout_id"] = rollout["id"]
    app["updated_at"] = created
    if kind == "full_auto" and not hold:
        account.rollout_started[rollout["id"]] = clock
        advance(account, clock, durations)
    return rollout


def advance(account: Account, clock: float, durations: Durations) -> None:
    """Moves rollouts and deletions on to where `clock` (the fake's monotonic time) finds them."""
    for app_id, until in list(account.deleting.items()):
        if clock >= until:
            del account.deleting[app_id]
            account.applications.pop(app_id, None)
            for rollout in account.rollouts.pop(app_id, []):
                account.rollout_started.pop(rollout["id"], None)
    for app_id, rollouts in account.rollouts.items():
        for rollout in rollouts:
            started = account.rollout_started.get(rollout["id"])
            if started is None or rollout["status"] not in UNDER_WAY:
                continue
            total = rollout["progress"]["total_steps"]
            done = (
                total
                if durations.rollout_step <= 0
                else math.floor((clock - started) / durations.rollout_step)
            )
            if done >= total:
                _end_rollout(account, account.applications[app_id], rollout, "completed")
                continue
            for step in rollout["steps"][:done]:
                step["status"] = "completed"
            rollout["steps"][done]["status"] = "progressing"
            rollout["progress"]["current_step"] = done + 1
