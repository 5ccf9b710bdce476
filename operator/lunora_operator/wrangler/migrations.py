"""Durable Object migrations: replay as wrangler does, merge histories, pick the next tag.

The history is append-only: an entry that may already be applied on Cloudflare is never
edited, removed or reordered (`spec/cloudflare.md` §1.4, `spec/lunora-container.md` §3.4).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Storage = Literal["sqlite", "kv"]
_TAG = re.compile(r"^v(\d+)$")


class MigrationConflict(ValueError):
    """The migration history cannot be extended without editing an entry already written."""


@dataclass
class ReplayState:
    """Classes declared after replaying a migration list, with their storage backend."""

    live: dict[str, Storage] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)

    def storage(self, class_name: str) -> Storage | None:
        return self.live.get(class_name)


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
        if isinstance(entry.get("tag"), str):
            state.tags.append(entry["tag"])
        for name in _names(entry, "new_classes"):
            state.live[name] = "kv"
        for name in _names(entry, "new_sqlite_classes"):
            state.live[name] = "sqlite"
        for moves in (entry.get("renamed_classes"), entry.get("transferred_classes")):
            for move in moves if isinstance(moves, list) else []:
                if isinstance(move, Mapping) and isinstance(move.get("to"), str):
                    storage = state.live.pop(str(move.get("from")), "sqlite")
                    state.live[move["to"]] = storage
        for name in _names(entry, "deleted_classes"):
            state.live.pop(name, None)
    return state


def next_tag(tags: Iterable[str]) -> str:
    """The lowest unused `v<N>` from v1 (Lunora's rule)."""
    used = {int(match.group(1)) for tag in tags if (match := _TAG.match(tag))}
    n = 1
    while n in used:
        n += 1
    return f"v{n}"


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


def new_entry(tag: str, created: Sequence[str], deleted: Sequence[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if deleted:
        entry["deleted_classes"] = list(deleted)
    if created:
        entry["new_sqlite_classes"] = list(created)
    entry["tag"] = tag
    return entry
