"""The rules Cloudflare enforces on Worker uploads, apart from HTTP: migrations (the tag
precondition, one namespace per new class, classes the code must export), bindings, the
`containers` entries; and the Worker's versions and deployments as wrangler reads them."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from lunora_operator.testing.fake_cloudflare.account import Account, Module, Script, Version, new_hex_id, now
from lunora_operator.testing.fake_cloudflare.errors import ApiError, worker_not_found

JAVASCRIPT_TYPES = (
    "application/javascript+module",
    "text/javascript+module",
    "application/javascript",
    "text/javascript",
)
_COMMENTS = re.compile(rb"/\*.*?\*/|//[^\n]*", re.DOTALL)
_DECLARED = re.compile(rb"\bexport\s+(?:async\s+)?(?:class|function\*?|const|let|var)\s+([A-Za-z_$][\w$]*)")
_LIST = re.compile(rb"\bexport\s*\{([^}]*)\}(?:\s*from\s*[\"']([^\"']+)[\"'])?")
_STAR = re.compile(rb"\bexport\s*\*\s*from\s*[\"']([^\"']+)[\"']")


def exported_names(modules: Mapping[str, Module], name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The names module `name` exports (`export class X`, `export { a as X }`, `export * from`
    another uploaded module), read from the source as the runtime would find them."""
    module = modules.get(name)
    if module is None or module.content_type not in JAVASCRIPT_TYPES or name in seen:
        return set()
    source = _COMMENTS.sub(b"", module.content)
    names = {match.group(1).decode() for match in _DECLARED.finditer(source)}
    for match in _LIST.finditer(source):
        for item in match.group(1).decode().split(","):
            parts = item.split()
            if parts:
                names.add(parts[-1])
    for match in _STAR.finditer(source):
        target = match.group(1).decode().removeprefix("./")
        names |= exported_names(modules, target, seen | {name})
    return names


def _migration_steps(migrations: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "steps" in migrations:
        return list(migrations["steps"])
    # The single-step form carries the step's keys next to the tags.
    return [{key: value for key, value in migrations.items() if key not in ("old_tag", "new_tag")}]


def upload_script(
    account: Account,
    script_name: str,
    metadata: Mapping[str, Any],
    modules: Mapping[str, Module],
    source: str = "api",
) -> Script:
    """Checks an upload as Cloudflare does and applies it: migrations (tag precondition, one
    namespace per new class, deleted classes removed), classes still exported, bindings,
    `containers`; a new version, deployed at once."""
    main_module = metadata.get("main_module") or metadata.get("body_part")
    if main_module not in modules:
        raise ApiError(
            400, f"No such module {main_module!r}: the upload's parts are {sorted(modules)}", 10021
        )
    exported = exported_names(modules, str(main_module))
    existing = account.scripts.get(script_name)
    current_tag = existing.migration_tag if existing else None
    namespaces = {ns_id: dict(ns) for ns_id, ns in account.own_namespaces().items()}

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
                f"Actor migration tag precondition failed, got tag '{old_tag or ''}' when expected tag is "
                f"'{current_tag or ''}'.",
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
                if class_name not in exported:
                    raise ApiError(
                        400,
                        f"Cannot apply new-class migration to class '{class_name}' that is not exported by script.",
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
    for class_name in sorted(classes - exported):
        raise ApiError(
            400,
            f"New version of script does not export class '{class_name}' which is depended on by existing "
            "Durable Objects. Did you forget to include it? If you renamed it, try a rename-class migration.",
            10064,
        )
    bindings: list[dict[str, Any]] = []
    for binding in metadata.get("bindings") or []:
        stored = copy.deepcopy(dict(binding))
        bindings.append(stored)
        if binding.get("type") != "durable_object_namespace":
            continue
        owner = binding.get("script_name", script_name)
        bound = binding.get("class_name")
        owner_classes = classes if owner == script_name else account.script_classes(owner)
        if bound not in owner_classes:
            raise ApiError(
                400,
                f"Cannot create binding for class '{bound}' because it is not currently configured to implement "
                "Durable Objects. Configure a migration in your Wrangler configuration to add this class.",
                10061,
            )
        found = (
            next(ns for ns in namespaces.values() if ns["script"] == script_name and ns["class"] == bound)
            if owner == script_name
            else account.namespace_for(owner, str(bound))
        )
        if found is not None:
            stored["namespace_id"] = found["id"]
    for entry in metadata.get("containers") or []:
        if entry["class_name"] not in classes:
            raise ApiError(
                400,
                f"FakeCloudflare: container class {entry['class_name']!r} is not a Durable Object class of "
                f"Worker {script_name}",
                10021,
            )
    for deleted in set(account.own_namespaces()) - set(namespaces):
        del account.namespaces[deleted]
    account.namespaces.update(namespaces)
    digest = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode())
    for name in sorted(modules):
        digest.update(modules[name].content)
    stamp = now()
    versions = existing.versions if existing else []
    version = Version(
        id=str(uuid.uuid4()), number=len(versions) + 1, bindings=bindings, created_on=stamp, source=source
    )
    script = Script(
        name=script_name,
        metadata=copy.deepcopy(dict(metadata)),
        modules=dict(modules),
        migration_tag=new_tag,
        etag=digest.hexdigest(),
        created_on=existing.created_on if existing else stamp,
        modified_on=stamp,
        secrets=existing.secrets if existing else {},
        versions=[*versions, version],
        subdomain=existing.subdomain if existing else {"enabled": False, "previews_enabled": False},
    )
    account.scripts[script_name] = script
    return script


def find_script(account: Account, script_name: str) -> Script:
    script = account.scripts.get(script_name)
    if script is None:
        raise worker_not_found()
    return script


def find_version(script: Script, version_id: str) -> Version:
    """A version by its id, with or without the hyphens (wrangler hyphenates a 32-hex id)."""
    wanted = version_id.replace("-", "").lower()
    for version in script.versions:
        if version.id.replace("-", "") == wanted:
            return version
    raise ApiError(404, f"Version {version_id} of Worker {script.name} not found", 10007)


def service(script: Script) -> dict[str, Any]:
    """`GET …/workers/services/{name}`: the Worker's production environment."""
    return {
        "id": script.name,
        "created_on": script.created_on,
        "modified_on": script.modified_on,
        "default_environment": {
            "environment": "production",
            "created_on": script.created_on,
            "modified_on": script.modified_on,
            "script": {
                "id": script.name,
                "etag": script.etag,
                "tag": script.etag[:32],
                "tags": None,
                "handlers": ["fetch"],
                "last_deployed_from": script.latest.source,
                "created_on": script.created_on,
                "modified_on": script.modified_on,
            },
        },
    }


def deployments(script: Script) -> dict[str, Any]:
    """`GET …/scripts/{name}/deployments`: the latest version serves all traffic."""
    latest = script.latest
    return {
        "deployments": [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, latest.id)),
                "source": latest.source,
                "strategy": "percentage",
                "created_on": latest.created_on,
                "versions": [{"version_id": latest.id, "percentage": 100.0}],
                "annotations": {"workers/triggered_by": "upload"},
            }
        ]
    }


def settings(script: Script) -> dict[str, Any]:
    """`GET …/scripts/{name}/settings`."""
    return {
        "bindings": copy.deepcopy(script.latest.bindings),
        "compatibility_date": script.metadata.get("compatibility_date"),
        "compatibility_flags": script.metadata.get("compatibility_flags", []),
        "logpush": False,
        "observability": copy.deepcopy(script.metadata.get("observability")),
        "placement": {},
        "tail_consumers": None,
        "usage_model": "standard",
    }
