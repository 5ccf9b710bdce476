"""What the Worker upload carries, read from the rendered wrangler config (pure).

As wrangler does: Durable Object bindings from `durable_objects.bindings`, the container classes
from `containers[].class_name`, and the migration steps after the tag Cloudflare already has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lunora_operator.api.app import WorkerBundle
from lunora_operator.cloudflare import DurableObjectBinding, MigrationUpload, WorkerUpload
from lunora_operator.wrangler.application import observability_logs
from lunora_operator.wrangler.migrations import replay


class MigrationHistoryGap(ValueError):
    """Cloudflare's migration tag is not in the rendered history."""


@dataclass(frozen=True)
class MigrationSteps:
    old_tag: str | None
    new_tag: str
    steps: tuple[Mapping[str, Any], ...]
    """The entries after `old_tag`, without their `tag`."""


def _entries(config: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = config.get(key)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def durable_object_bindings(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(binding name, class name) of every same-Worker binding."""
    section = config.get("durable_objects")
    bindings = _entries(section, "bindings") if isinstance(section, Mapping) else []
    return [
        (str(b["name"]), str(b["class_name"]))
        for b in bindings
        if isinstance(b.get("name"), str) and isinstance(b.get("class_name"), str) and "script_name" not in b
    ]


def container_classes(config: Mapping[str, Any]) -> list[str]:
    return [
        str(c["class_name"]) for c in _entries(config, "containers") if isinstance(c.get("class_name"), str)
    ]


def container_entry(config: Mapping[str, Any], class_name: str) -> Mapping[str, Any] | None:
    return next((c for c in _entries(config, "containers") if c.get("class_name") == class_name), None)


def migration_steps(history: Sequence[Mapping[str, Any]], deployed_tag: str | None) -> MigrationSteps | None:
    """The migrations to upload: every entry after `deployed_tag` (all of them for a new script);
    None when Cloudflare already has the last one."""
    tagged = [entry for entry in history if isinstance(entry.get("tag"), str)]
    if not tagged:
        return None
    tags = [str(entry["tag"]) for entry in tagged]
    if deployed_tag is None:
        start = 0
    elif deployed_tag in tags:
        start = tags.index(deployed_tag) + 1
    else:
        raise MigrationHistoryGap(
            f'Cloudflare reports migration tag "{deployed_tag}" for the Worker, but the rendered history '
            f"({', '.join(tags)}) does not contain it"
        )
    pending = tagged[start:]
    if not pending:
        return None
    return MigrationSteps(
        old_tag=deployed_tag,
        new_tag=tags[-1],
        steps=tuple({k: v for k, v in entry.items() if k != "tag"} for entry in pending),
    )


def declaring_tag(config: Mapping[str, Any], class_name: str) -> str | None:
    """The tag of the migration that declared `class_name` (as it is named now)."""
    return replay(_entries(config, "migrations")).declared_by.get(class_name)


def worker_upload(
    config: Mapping[str, Any], bundle: WorkerBundle, files: Mapping[str, bytes], steps: MigrationSteps | None
) -> WorkerUpload:
    """The upload of the bundle's modules with what the config declares for them."""
    return WorkerUpload(
        main_module=bundle.main_module,
        modules=dict(files),
        bindings=[
            DurableObjectBinding(name, class_name) for name, class_name in durable_object_bindings(config)
        ],
        container_classes=container_classes(config),
        migrations=MigrationUpload(
            old_tag=steps.old_tag,
            new_tag=steps.new_tag,
            steps=[dict(step) for step in steps.steps],  # type: ignore[misc]  # wrangler's step shape
        )
        if steps is not None
        else None,
        compatibility_date=bundle.compatibility_date,
        compatibility_flags=list(bundle.compatibility_flags or ()),
        observability=observability_logs(config),
    )
