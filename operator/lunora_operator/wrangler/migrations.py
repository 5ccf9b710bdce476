"""Durable Object migrations: replay as wrangler does, merge histories, pick the next tag,
recover the history from what Cloudflare reports.

The history is append-only: an entry that may already be applied on Cloudflare is never
edited, removed or reordered. wrangler uploads the entries after the deployed Worker's tag, so
a class is created by exactly one entry, and a container's class must be created with
`new_sqlite_classes` (a key-value class can never become SQLite).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Storage = Literal["sqlite", "kv"]
_TAG = re.compile(r"^v(\d+)$")


class MigrationConflict(ValueError):
    """The migration history cannot be extended without editing an entry already written."""


@dataclass(frozen=True)
class DeployedMigrations:
    """What Cloudflare reports for the deployed Worker: its migration tag and the Durable
    Object classes that exist there."""

    tag: str
    classes: frozenset[str]


@dataclass
class ReplayState:
    """Classes declared after replaying a migration list, with their storage backend."""

    live: dict[str, Storage] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    declared_by: dict[str, str] = field(default_factory=dict)
    """Live class -> the tag of the entry that declared it (or renamed or transferred it to
    its name)."""

    def storage(self, class_name: str) -> Storage | None:
        return self.live.get(class_name)

    def declare(self, class_name: str, storage: Storage, tag: str | None) -> None:
        self.live[class_name] = storage
        if tag is not None:
            self.declared_by[class_name] = tag

    def remove(self, class_name: str) -> Storage | None:
        self.declared_by.pop(class_name, None)
        return self.live.pop(class_name, None)


def _names(entry: Mapping[str, Any], key: str) -> list[str]:
    value = entry.get(key)
    return [name for name in value if isinstance(name, str)] if isinstance(value, list) else []


def replay(migrations: Iterable[Any]) -> ReplayState:
    """In list order; within one entry: adds, then renames, then deletes (wrangler's order).
    A class introduced by a rename or transfer counts as declared."""
    state = ReplayState()
    for entry in migrations:
        if not isinstance(entry, Mapping):
            continue  # null (a JSONC trailing comma) or junk: wrangler reports it, we skip it
        tag = entry.get("tag") if isinstance(entry.get("tag"), str) else None
        if tag is not None:
            state.tags.append(tag)
        for name in _names(entry, "new_classes"):
            state.declare(name, "kv", tag)
        for name in _names(entry, "new_sqlite_classes"):
            state.declare(name, "sqlite", tag)
        for moves in (entry.get("renamed_classes"), entry.get("transferred_classes")):
            for move in moves if isinstance(moves, list) else []:
                if isinstance(move, Mapping) and isinstance(move.get("to"), str):
                    state.declare(move["to"], state.remove(str(move.get("from"))) or "sqlite", tag)
        for name in _names(entry, "deleted_classes"):
            state.remove(name)
    return state


def next_tag(tags: Iterable[str]) -> str:
    """`v<N+1>` for the highest `v<N>` in use (v1 when there is none). Unlike Lunora, which
    takes the lowest unused number, a sparse history (v1, v7) continues at v8, never back in time."""
    used = [int(match.group(1)) for tag in tags if (match := _TAG.match(tag))]
    return f"v{max(used, default=0) + 1}"


def merge_history(previous: Sequence[Any], base: Sequence[Any]) -> list[Any]:
    """The history to render: everything previously rendered (it may be deployed), in its
    order, then entries the base gained since. An entry whose tag both hold must be equal."""
    by_tag = {entry.get("tag"): entry for entry in previous if isinstance(entry, Mapping)}
    merged = list(previous)
    for entry in base:
        if not isinstance(entry, Mapping):
            continue
        tag = entry.get("tag")
        if tag in by_tag:
            if by_tag[tag] != entry:
                raise MigrationConflict(
                    f'migration "{tag}" in the base config differs from the one rendered before; '
                    "applied migrations cannot be changed: give the new entry a new tag"
                )
        else:
            merged.append(entry)
    return merged


def recovery_entry(
    history: Sequence[Any], deployed: DeployedMigrations, owned: Collection[str]
) -> dict[str, Any] | None:
    """An entry standing for migrations that ran on Cloudflare but that the history lost (its
    output and state were deleted, say): the deployed tag, declaring the classes this app owns
    that exist there and the history does not declare. None when the history holds the tag.

    Appended last, it lets wrangler upload only the entries after it, so no existing class is
    declared again, and the next tag is taken above it."""
    state = replay(history)
    if deployed.tag in state.tags:
        return None
    entry: dict[str, Any] = {"tag": deployed.tag}
    if existing := sorted(c for c in deployed.classes if c in owned and c not in state.live):
        entry["new_sqlite_classes"] = existing
    return entry


def new_entry(tag: str, created: Sequence[str], deleted: Sequence[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"tag": tag}
    if created:
        entry["new_sqlite_classes"] = list(created)
    if deleted:
        entry["deleted_classes"] = list(deleted)
    return entry
