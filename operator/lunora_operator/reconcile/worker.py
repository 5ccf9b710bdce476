"""What the Worker upload carries, read from the rendered wrangler config (pure).

As wrangler does: Durable Object bindings from `durable_objects.bindings`, the container classes
from `containers[].class_name`, and the migration steps after the tag Cloudflare already has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


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
    """The tag of the migration that (last) declared `class_name`."""
    found = None
    for entry in _entries(config, "migrations"):
        declared = [*(entry.get("new_sqlite_classes") or ()), *(entry.get("new_classes") or ())]
        declared += [m.get("to") for m in entry.get("renamed_classes") or () if isinstance(m, Mapping)]
        if class_name in declared and isinstance(entry.get("tag"), str):
            found = str(entry["tag"])
    return found
