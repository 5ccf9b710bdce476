"""Merge an app's containers into its wrangler config.

Like Lunora: `durable_objects.bindings[]` by name (an existing binding is never edited),
`containers[]` by class, append-only `migrations[]` declaring new classes in
`new_sqlite_classes` under a new tag, `observability` switched on when absent. Unlike Lunora
(add-only), entries the operator owns — those whose `class_name` is one of the app's
containers — follow the resource when it changes, and a removed container with
`deletionPolicy: Delete` loses its entry and binding and gains a `deleted_classes` migration.
Everything else in the file is the user's and is left byte-for-byte; within an owned entry, a
key the resource does not set is removed only when the previous render wrote it into this very
file. Conflicts are found before the first edit, so a conflict writes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lunora_operator.api.naming import find_collisions
from lunora_operator.name_lists import few
from lunora_operator.wrangler.desired import (
    OWNED_ENTRY_PATHS,
    DesiredContainer,
    EntryPath,
    RemovedContainer,
    lookup_path,
)
from lunora_operator.wrangler.document import WranglerDocument, lookup
from lunora_operator.wrangler.migrations import (
    DeployedMigrations,
    MigrationConflict,
    ReplayState,
    merge_history,
    new_entry,
    next_tag,
    recovery_entry,
    replay,
    withdraw_undeployed,
)

OBSERVABILITY_DEFAULT = {"enabled": True, "head_sampling_rate": 1}


class RenderConflict(ValueError):
    """The config and the resources disagree in a way only a person can settle."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class MergeResult:
    text: str
    changes: list[str] = field(default_factory=list)
    migration_tag: str | None = None


def _list(document: WranglerDocument, path: Sequence[str], problems: list[str]) -> list[Any]:
    value = lookup(document, path, [])
    if not isinstance(value, list):
        problems.append(f"`{'.'.join(path)}` must be an array (it is {type(value).__name__})")
        return []
    return value


def _entries(items: list[Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """(index, entry) for the object entries; nulls from trailing commas and junk are skipped."""
    return [(i, item) for i, item in enumerate(items) if isinstance(item, Mapping)]


def _find(items: list[Any], **match: str) -> int | None:
    return next((i for i, item in _entries(items) if all(item.get(k) == v for k, v in match.items())), None)


def _index_by(items: list[Any], key: str) -> dict[Any, int]:
    """Value of `key` -> index of the first entry holding it (one pass, so lookups stay O(1))."""
    found: dict[Any, int] = {}
    for i, item in _entries(items):
        value = item.get(key)
        if isinstance(value, str):
            found.setdefault(value, i)
    return found


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON type (1, 1.0 and True differ in a config)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _conflicts(
    desired: Sequence[DesiredContainer],
    bindings: list[Any],
    history: list[Any],
    state: ReplayState,
    document: WranglerDocument,
    worker_name: str | None,
) -> list[str]:
    problems = [str(collision) for collision in find_collisions(d.names for d in desired)]
    by_name: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for i, binding in _entries(bindings):
        if isinstance(binding.get("name"), str):
            by_name.setdefault(binding["name"], []).append((i, binding))
    base_name = lookup(document, ["name"])
    if worker_name and isinstance(base_name, str) and base_name != worker_name:
        problems.append(
            f'`name` is "{base_name}" in the wrangler config but the LunoraApp\'s workerName is "{worker_name}"; '
            "make them the same"
        )
    for d in desired:
        names = d.names
        for i, binding in by_name.get(names.binding_name, []):
            if binding.get("class_name") != names.class_name:
                problems.append(
                    f'durable_objects.bindings[{i}]: binding "{names.binding_name}" points at class '
                    f'"{binding.get("class_name")}", but LunoraContainer "{names.resource}" needs it for '
                    f'"{names.class_name}"; rename that binding or set the container\'s exportName'
                )
            elif binding.get("script_name"):
                problems.append(
                    f'durable_objects.bindings[{i}]: binding "{names.binding_name}" has script_name '
                    f'"{binding["script_name"]}"; a container\'s Durable Object must live in this Worker'
                )
        if state.storage(names.class_name) == "kv":
            where = next(
                (
                    f"migrations[{i}].new_classes"
                    for i, entry in _entries(history)
                    if names.class_name in (entry.get("new_classes") or [])
                ),
                "migrations",
            )
            problems.append(
                f'{where}: class "{names.class_name}" (LunoraContainer "{names.resource}") is declared as a '
                "key-value Durable Object; containers need new_sqlite_classes and a key-value class cannot "
                "become SQLite: give the container another exportName"
            )
    return problems


def _orphan_entries(
    orphans: Sequence[RemovedContainer],
    containers: list[Any],
    bindings: list[Any],
    previous: Mapping[str, Any] | None,
) -> tuple[list[Any], list[Any], list[str]]:
    """The entry and binding each orphaned container was last rendered with, when the base
    lacks them: (containers to add, bindings to add, changes)."""
    if not previous:
        return [], [], []
    found = previous.get("containers")
    old_containers: list[Any] = found if isinstance(found, list) else []
    durable_objects = previous.get("durable_objects")
    found = durable_objects.get("bindings") if isinstance(durable_objects, Mapping) else None
    old_bindings: list[Any] = found if isinstance(found, list) else []
    entries, kept_bindings, changes = [], [], []
    for orphan in orphans:
        old = _find(old_containers, class_name=orphan.class_name)
        if old is not None and _find(containers, class_name=orphan.class_name) is None:
            entries.append(dict(old_containers[old]))
            changes.append(f"kept orphaned containers/{orphan.class_name}")
        old = _find(old_bindings, name=orphan.binding_name, class_name=orphan.class_name)
        if old is not None and _find(bindings, name=orphan.binding_name) is None:
            kept_bindings.append(dict(old_bindings[old]))
            changes.append(f"kept orphaned durable_objects.bindings/{orphan.binding_name}")
    return entries, kept_bindings, changes


def _update_entry(
    document: WranglerDocument,
    index: int,
    current: Mapping[str, Any],
    wanted: DesiredContainer,
    written: Collection[EntryPath],
) -> list[str]:
    """Makes the owned keys of containers[index] follow the resource; returns the keys changed."""
    updated = []
    for path in OWNED_ENTRY_PATHS:
        want, have = lookup_path(wanted.entry, path), lookup_path(current, path)
        if want is not None and not _same(want, have):
            document.set(["containers", index, *path], want)
            updated.append(".".join(path))
        elif want is None and have is not None and path in written:
            document.remove(["containers", index, *path])
            updated.append(".".join(path))
            parent = lookup(document, ["containers", index, *path[:-1]]) if len(path) > 1 else None
            if parent == {}:
                document.remove(["containers", index, *path[:-1]])
    return updated


def merge_config(
    document: WranglerDocument,
    desired: Sequence[DesiredContainer],
    removed: Sequence[RemovedContainer] = (),
    previous: Mapping[str, Any] | None = None,
    worker_name: str | None = None,
    written: Mapping[str, Collection[EntryPath]] | None = None,
    deployed: DeployedMigrations | None = None,
    undeployed: bool = False,
) -> MergeResult:
    """Edits `document` in place so it describes `desired` (sorted by export name) and no
    longer describes `removed` containers with `deletionPolicy: Delete`.

    `previous` is the config this merge rendered last time, when that is not the base
    itself: its migrations may be deployed, so they are kept, and the entries of orphaned
    containers it held are carried over. `written` (class name -> entry paths) is what the
    previous render wrote into this document, when the document is that render's output.
    `deployed` is what Cloudflare reports; a history that lost its tag gets a recovery entry.
    `undeployed`: Cloudflare reports the Worker has applied no migration yet, so a removed class
    that only rendered entries declared is withdrawn from them instead of deleted."""
    desired = sorted(desired, key=lambda d: d.names.export_name)
    written = written or {}
    wanted_classes = {d.names.class_name for d in desired}
    deleting = [r for r in removed if r.deletion_policy == "Delete" and r.class_name not in wanted_classes]
    orphans = [r for r in removed if r.deletion_policy == "Orphan" and r.class_name not in wanted_classes]
    previous_migrations = previous.get("migrations") if previous else None
    if not isinstance(previous_migrations, list):
        previous_migrations = None

    problems: list[str] = []
    containers = _list(document, ["containers"], problems)
    bindings = _list(document, ["durable_objects", "bindings"], problems)
    base_migrations = _list(document, ["migrations"], problems)
    try:
        history = (
            merge_history(previous_migrations, base_migrations) if previous_migrations else base_migrations
        )
    except MigrationConflict as error:
        problems.append(str(error))
        history = base_migrations
    withdrawn: list[str] = []
    if undeployed and deployed is None:
        history, withdrawn = withdraw_undeployed(history, base_migrations, [r.class_name for r in deleting])
    recovered = (
        recovery_entry(history, deployed, wanted_classes | {r.class_name for r in removed})
        if deployed is not None
        else None
    )
    state = replay([*history, recovered] if recovered else history)
    problems += _conflicts(desired, bindings, history, state, document, worker_name)
    if problems:
        raise RenderConflict(problems)

    changes: list[str] = []
    if worker_name and lookup(document, ["name"]) is None:
        document.set(["name"], worker_name)
        changes.append(f"set name = {worker_name}")

    entry_at = _index_by(containers, "class_name")
    binding_at = _index_by(bindings, "name")
    new_entries = []
    for d in desired:
        index = entry_at.get(d.names.class_name)
        if index is None:
            new_entries.append(d.entry)
            changes.append(f"added containers/{d.names.class_name}")
        elif updated := _update_entry(
            document, index, containers[index], d, written.get(d.names.class_name, ())
        ):
            changes.append(f"updated containers/{d.names.class_name} ({', '.join(updated)})")
    new_bindings = []
    for d in desired:
        if d.names.binding_name not in binding_at:
            new_bindings.append(d.binding)
            changes.append(f"added durable_objects.bindings/{d.names.binding_name}")
    kept_entries, kept_bindings, kept = _orphan_entries(orphans, containers, bindings, previous)
    changes += kept
    if new_entries or kept_entries:
        document.extend(["containers"], [*new_entries, *kept_entries])
    if new_bindings or kept_bindings:
        document.extend(["durable_objects", "bindings"], [*new_bindings, *kept_bindings])

    if history != base_migrations:
        if history[: len(base_migrations)] == base_migrations:
            document.extend(["migrations"], history[len(base_migrations) :])
        else:
            document.set(["migrations"], history)
        changes.append("restored migrations rendered before")
    if withdrawn:
        changes.append(f"withdrew {few(withdrawn)} from migrations never deployed")
    if recovered:
        document.append(["migrations"], recovered)
        declared = few(recovered.get("new_sqlite_classes", [])) or "no classes of this app"
        changes.append(f"recovered migration {recovered['tag']} from the deployed Worker ({declared})")
    created = [d.names.class_name for d in desired if d.names.class_name not in state.live]
    dropped = [r.class_name for r in deleting if r.class_name in state.live]
    tag = state.tags[-1] if state.tags else None
    if created or dropped:
        tag = next_tag(state.tags)
        document.append(["migrations"], new_entry(tag, created, dropped))
        summary = "; ".join(
            part
            for part in (
                f"new_sqlite_classes {few(created)}" if created else "",
                f"deleted_classes {few(dropped)}" if dropped else "",
            )
            if part
        )
        changes.append(f"added migration {tag} ({summary})")

    # Removals last, so the indexes used above stay valid.
    doomed = {(r.binding_name, r.class_name) for r in deleting}
    gone = [(i, b) for i, b in _entries(bindings) if (b.get("name"), b.get("class_name")) in doomed]
    document.remove_items(["durable_objects", "bindings"], [i for i, _ in gone])
    changes += [f"removed durable_objects.bindings/{binding['name']}" for _, binding in reversed(gone)]
    doomed_classes = {r.class_name for r in deleting}
    gone = [(i, entry) for i, entry in _entries(containers) if entry.get("class_name") in doomed_classes]
    document.remove_items(["containers"], [i for i, _ in gone])
    changes += [f"removed containers/{entry['class_name']}" for _, entry in reversed(gone)]

    # Container logs need observability; carried (held or orphaned) entries are containers too.
    remaining = lookup(document, ["containers"], [])
    has_containers = bool(desired) or (isinstance(remaining, list) and bool(_entries(remaining)))
    if has_containers and lookup(document, ["observability"]) is None:
        document.set(["observability"], dict(OBSERVABILITY_DEFAULT))
        changes.append("set observability (container logs)")

    return MergeResult(text=document.text, changes=changes, migration_tag=tag)
