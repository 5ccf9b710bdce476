"""What one fake Cloudflare account holds and the rules Cloudflare enforces on it, apart from HTTP.

Rules stated as Cloudflare's are Cloudflare's; where Cloudflare's exact behaviour is unknown, the
fake is stricter and says so in its error text ("FakeCloudflare: …").
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lunora_operator.api.container import (
    CUSTOM_DISK_MB_MAX,
    CUSTOM_MEMORY_MIB_MAX,
    CUSTOM_VCPU_MAX,
    CUSTOM_VCPU_MIN,
    DISK_MB_PER_GIB,
    MEMORY_MIB_PER_VCPU,
)
from lunora_operator.cloudflare.models import DEFAULT_REGISTRY, INSTANCE_TYPES

SIZE_KEYS = ("vcpu", "memory_mib", "disk", "instance_type")


class ApiError(Exception):
    """An error answer in the v4 envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        code: int = 1000,
        *,
        containers_error: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers: dict[str, str] = {}
        # The Containers API puts {"error": CODE, "details": {...}} as JSON into the message.
        if containers_error is not None:
            message = json.dumps({"error": containers_error, "details": dict(details or {})})
        self.message = message

    def envelope(self) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"code": self.code, "message": self.message}],
            "messages": [],
            "result": None,
        }


def validation_error(details: Mapping[str, str]) -> ApiError:
    return ApiError(400, "", 1000, containers_error="VALIDATE_INPUT", details=details)


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def new_hex_id() -> str:
    return secrets.token_hex(16)


@dataclass
class Script:
    name: str
    metadata: dict[str, Any]
    modules: dict[str, tuple[str, bytes]]
    """File name -> (content type, content)."""
    migration_tag: str | None
    etag: str
    created_on: str
    modified_on: str
    secrets: dict[str, str] = field(default_factory=dict)

    def api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.name,
            "etag": self.etag,
            "created_on": self.created_on,
            "modified_on": self.modified_on,
            "has_modules": True,
            "handlers": ["fetch"],
            "compatibility_date": self.metadata.get("compatibility_date"),
            "compatibility_flags": self.metadata.get("compatibility_flags", []),
            "usage_model": "standard",
        }
        if self.migration_tag is not None:
            data["migration_tag"] = self.migration_tag
        return data

    @property
    def container_classes(self) -> set[str]:
        return {entry["class_name"] for entry in self.metadata.get("containers") or []}


@dataclass
class Account:
    id: str
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    rollouts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    scripts: dict[str, Script] = field(default_factory=dict)
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)

    def namespace_for(self, script: str, class_name: str) -> dict[str, Any] | None:
        for namespace in self.namespaces.values():
            if namespace["script"] == script and namespace["class"] == class_name:
                return namespace
        return None

    def script_classes(self, script: str) -> set[str]:
        return {ns["class"] for ns in self.namespaces.values() if ns["script"] == script}

    def applications_on(self, namespace_id: str) -> list[dict[str, Any]]:
        return [
            app
            for app in self.applications.values()
            if (app.get("durable_objects") or {}).get("namespace_id") == namespace_id
        ]


# --- containers applications ----------------------------------------------------------------------


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
        size = INSTANCE_TYPES[name]
        stored.update(vcpu=size.vcpu, memory_mib=size.memory_mib, disk={"size_mb": size.disk_mb})
    return stored


def merged_configuration(current: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(current))
    if any(key in change for key in SIZE_KEYS):
        for key in SIZE_KEYS:
            merged.pop(key, None)
    merged.update(stored_configuration(change))
    return merged


def create_application(account: Account, body: Mapping[str, Any]) -> dict[str, Any]:
    configuration = body.get("configuration") or {}
    check_custom_size(configuration, "configuration.")
    if "observability" in body and "observability" in configuration:
        raise validation_error({"observability": "is mutually exclusive with configuration.observability"})
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
    for key in ("constraints", "observability", "durable_objects"):
        if key in body:
            app[key] = copy.deepcopy(body[key])
    account.applications[app["id"]] = app
    account.rollouts[app["id"]] = []
    return app


def _check_container_namespace(account: Account, namespace_id: str) -> None:
    namespace = account.namespaces.get(namespace_id)
    if namespace is None:
        raise validation_error(
            {"durable_objects.namespace_id": f"Durable Object namespace {namespace_id} not found"}
        )
    script = account.scripts.get(namespace["script"])
    if script is None or namespace["class"] not in script.container_classes:
        raise validation_error(
            {
                "durable_objects.namespace_id": (
                    f"FakeCloudflare: class {namespace['class']} of Worker {namespace['script']} is not "
                    "container-enabled: the Worker's upload metadata has no containers entry for it"
                )
            }
        )
    for other in account.applications_on(namespace_id):
        raise validation_error(
            {
                "durable_objects.namespace_id": (
                    f"FakeCloudflare: namespace {namespace_id} already serves application "
                    f"{other['name']} ({other['id']})"
                )
            }
        )


def find_application(account: Account, application_id: str) -> dict[str, Any]:
    app = account.applications.get(application_id)
    if app is None:
        raise ApiError(
            404, "", 1000, containers_error="APPLICATION_NOT_FOUND", details={"id": application_id}
        )
    return app


def edit_application(account: Account, application_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    app = find_application(account, application_id)
    for key in ("max_instances", "constraints", "rollout_active_grace_period"):
        if key in body:
            app[key] = copy.deepcopy(body[key])
    if "observability" in body:
        # Top-level observability supersedes configuration.observability (they are exclusive).
        app["observability"] = copy.deepcopy(body["observability"])
        app["configuration"].pop("observability", None)
    if body.get("configuration"):
        app["configuration"] = merged_configuration(app["configuration"], body["configuration"])
        app["version"] += 1
    app["updated_at"] = now()
    return app


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


def finish_rollout(account: Account, application_id: str, status: str) -> dict[str, Any]:
    """Ends the application's latest rollout as `completed` or `reverted` (the application goes
    back to the configuration it had before the rollout)."""
    app = find_application(account, application_id)
    rollout = account.rollouts[application_id][-1]
    stamp = now()
    rollout["status"] = status
    rollout["last_updated_at"] = stamp
    for step in rollout["steps"]:
        step["status"] = status
    if status == "completed":
        rollout["progress"]["current_step"] = rollout["progress"]["total_steps"]
    else:
        app["configuration"] = copy.deepcopy(rollout["current_configuration"])
        app["version"] += 1
        app["updated_at"] = stamp
    return rollout


def create_rollout(
    account: Account, application_id: str, body: Mapping[str, Any], hold: bool = False
) -> dict[str, Any]:
    """A `full_auto` rollout completes at once unless `hold`, then it stays at its first step;
    a `full_manual` one waits at its first step for someone to advance it."""
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
    created = now()
    for previous in account.rollouts[application_id]:
        if previous["status"] in ("pending", "progressing"):
            previous["status"] = "replaced"
            previous["last_updated_at"] = created
    completed = kind == "full_auto" and not hold
    target_configuration = merged_configuration(app["configuration"], target)
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
        "status": "completed" if completed else "progressing" if kind == "full_auto" else "pending",
        "health": {"instances": {"active": 0, "assigned": 0}, "errors": []},
        "steps": [
            {
                "id": index,
                "step_size": {"percentage": percentage},
                "description": f"Step {index} of {len(percentages)}",
                "status": "completed" if completed else "pending",
            }
            for index, percentage in enumerate(percentages, start=1)
        ],
        "progress": {
            "total_steps": len(percentages),
            "current_step": len(percentages) if completed else 1 if kind == "full_auto" else 0,
            "updated_instances": 0,
            "total_instances": 0,
        },
    }
    account.rollouts[application_id].append(rollout)
    app["configuration"] = target_configuration
    app["version"] += 1
    app["active_rollout_id"] = rollout["id"]
    app["updated_at"] = created
    return rollout


# --- Worker scripts ---------------------------------------------------------------------------------


def _migration_steps(migrations: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "steps" in migrations:
        return list(migrations["steps"])
    # The single-step form carries the step's keys next to the tags.
    return [{key: value for key, value in migrations.items() if key not in ("old_tag", "new_tag")}]


def _mentions(modules: Iterable[tuple[str, bytes]], class_name: str) -> bool:
    pattern = re.compile(rb"\b" + re.escape(class_name.encode()) + rb"\b")
    return any(pattern.search(content) for _content_type, content in modules)


def upload_script(
    account: Account, script_name: str, metadata: Mapping[str, Any], modules: Mapping[str, tuple[str, bytes]]
) -> Script:
    """Checks an upload as Cloudflare does and applies it: migrations (tag precondition, one
    namespace per new class, deleted classes removed), bindings, `containers`."""
    main_module = metadata.get("main_module") or metadata.get("body_part")
    if main_module not in modules:
        raise ApiError(
            400, f"No such module {main_module!r}: the upload's parts are {sorted(modules)}", 10021
        )
    existing = account.scripts.get(script_name)
    current_tag = existing.migration_tag if existing else None
    namespaces = {ns_id: dict(ns) for ns_id, ns in account.namespaces.items()}

    def class_namespace(class_name: str) -> str | None:
        for ns_id, namespace in namespaces.items():
            if namespace["script"] == script_name and namespace["class"] == class_name:
                return ns_id
        return None

    migrations = metadata.get("migrations")
    new_tag = current_tag
    if migrations:
        old_tag = migrations.get("old_tag")
        if old_tag != current_tag:
            raise ApiError(
                400,
                f"Migration tag precondition failed: the script's current migration tag is {current_tag!r}, "
                f"the upload's old_tag is {old_tag!r}",
                10079,
            )
        new_tag = migrations.get("new_tag", current_tag)
        for step in _migration_steps(migrations):
            for class_name in [*step.get("new_classes", []), *step.get("new_sqlite_classes", [])]:
                if class_namespace(class_name) is not None:
                    raise ApiError(
                        400,
                        f"Cannot apply new-class migration to class {class_name} that already exists",
                        10074,
                    )
                if not _mentions(modules.values(), class_name):
                    raise ApiError(
                        400,
                        f"Cannot apply new-class migration to class {class_name} that is not exported by script",
                        10070,
                    )
                ns_id = new_hex_id()
                namespaces[ns_id] = {
                    "id": ns_id,
                    "name": f"{script_name}_{class_name}",
                    "script": script_name,
                    "class": class_name,
                    "use_sqlite": class_name in step.get("new_sqlite_classes", []),
                }
            for renamed in step.get("renamed_classes", []):
                renamed_id = class_namespace(renamed["from"])
                if renamed_id is None or class_namespace(renamed["to"]) is not None:
                    raise ApiError(400, f"Cannot rename class {renamed['from']} to {renamed['to']}", 10074)
                namespaces[renamed_id]["class"] = renamed["to"]
            for class_name in step.get("deleted_classes", []):
                deleted_id = class_namespace(class_name)
                if deleted_id is None:
                    raise ApiError(
                        400,
                        f"Cannot apply deleted_classes migration to non-existent class {class_name}",
                        10074,
                    )
                users = account.applications_on(deleted_id)
                if users:
                    raise ApiError(
                        400,
                        f"FakeCloudflare: cannot delete class {class_name}: its namespace serves container "
                        f"application {users[0]['name']} ({users[0]['id']}); delete the application first",
                        10074,
                    )
                del namespaces[deleted_id]
            if step.get("transferred_classes"):
                raise ApiError(400, "FakeCloudflare does not implement transferred_classes", 10021)
    classes = {ns["class"] for ns in namespaces.values() if ns["script"] == script_name}
    for binding in metadata.get("bindings") or []:
        if binding.get("type") != "durable_object_namespace":
            continue
        owner = binding.get("script_name", script_name)
        bound = binding.get("class_name")
        owner_classes = classes if owner == script_name else account.script_classes(owner)
        if bound not in owner_classes:
            raise ApiError(
                400,
                f"Cannot create binding for class {bound!r} because it is not currently configured to implement "
                "Durable Objects. Did you forget to apply a Durable Object migration?",
                10061,
            )
    for entry in metadata.get("containers") or []:
        if entry["class_name"] not in classes:
            raise ApiError(
                400,
                f"FakeCloudflare: container class {entry['class_name']!r} is not a Durable Object class of "
                f"Worker {script_name}",
                10021,
            )
    for deleted in set(account.namespaces) - set(namespaces):
        del account.namespaces[deleted]
    account.namespaces.update(namespaces)
    digest = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode())
    for name in sorted(modules):
        digest.update(modules[name][1])
    stamp = now()
    script = Script(
        name=script_name,
        metadata=copy.deepcopy(dict(metadata)),
        modules=dict(modules),
        migration_tag=new_tag,
        etag=digest.hexdigest(),
        created_on=existing.created_on if existing else stamp,
        modified_on=stamp,
        secrets=existing.secrets if existing else {},
    )
    account.scripts[script_name] = script
    return script


def find_script(account: Account, script_name: str) -> Script:
    script = account.scripts.get(script_name)
    if script is None:
        raise ApiError(404, "This Worker does not exist on your account.", 10007)
    return script


# --- registry credentials -------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryConfig:
    """The registry the fake hands out credentials for (in tests: the real test registry)."""

    host: str
    username: str
    password: str = field(repr=False)


def registry_credentials(
    account: Account, registry: RegistryConfig | None, domain: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Credentials for the configured registry, asked for by its host or as Cloudflare's
    managed registry; without a configured registry, made-up ones for the managed registry."""
    if body.get("expiration_minutes", 0) <= 0:
        raise validation_error({"expiration_minutes": "must be positive for a managed registry"})
    if not body.get("permissions"):
        raise validation_error({"permissions": "is required for a managed registry"})
    if registry is not None and domain in (registry.host, DEFAULT_REGISTRY):
        return {
            "account_id": account.id,
            "registry_host": registry.host,
            "username": registry.username,
            "password": registry.password,
        }
    if registry is None and domain == DEFAULT_REGISTRY:
        return {
            "account_id": account.id,
            "registry_host": DEFAULT_REGISTRY,
            "username": "v1",
            "password": secrets.token_urlsafe(24),
        }
    raise ApiError(
        404, "", 1000, containers_error="IMAGE_REGISTRY_NOT_CONFIGURED", details={"domain": domain}
    )


def paginate(items: Sequence[Any], page: int, per_page: int) -> list[Any]:
    start = (page - 1) * per_page
    return list(items[start : start + per_page])
