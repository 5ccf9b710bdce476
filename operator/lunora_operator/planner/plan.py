"""The render pipeline as one pure function: resources, a base config, the previous output and
state record in; the new config, generated TypeScript, state record and changes out.

No files, no network: the offline `render` command reads and writes files around it, the
operator reads and writes ConfigMaps around it, and both get the same config and words.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.codegen.containers_ts import CodegenUnsupported, Flavour, render_containers_ts
from lunora_operator.planner.state import OrphanedContainer, OwnedContainer, RenderState
from lunora_operator.wrangler.desired import (
    DesiredContainer,
    EntryPath,
    ImageLocation,
    ImageUnavailable,
    RemovedContainer,
    desired_container,
)
from lunora_operator.wrangler.document import (
    Format,
    WranglerConfigError,
    WranglerDocument,
    empty_text,
    lookup,
    open_document,
)
from lunora_operator.wrangler.merge import RenderConflict, merge_config
from lunora_operator.wrangler.migrations import DeployedMigrations


class PlanError(Exception):
    """Input the planner cannot use; each problem names where it is (file, line, field)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class PlanInput:
    app_name: str
    app: LunoraApp | None
    containers: Sequence[LunoraContainer]
    base_text: str | None
    """The user's wrangler config; None starts from an empty one named after the app's Worker."""
    format: Format
    previous_config_text: str | None
    """The config rendered last time, when it is not the base itself: its migrations may be
    deployed and its orphaned entries are carried over."""
    previous_state: RenderState | None
    images: Mapping[str, str] = field(default_factory=dict)
    """Export name -> pushed image reference, for build images."""
    flavour: Flavour = "lunora"
    image_location: ImageLocation | None = None
    """Offline only: where `path` build contexts are, so they become Dockerfile paths."""
    deployed_migrations: DeployedMigrations | None = None
    """The migration tag and Durable Object classes Cloudflare reports for the deployed Worker."""
    undeployed: bool = False
    """Cloudflare reports that the Worker has applied no migration (it does not exist, or has no
    migration tag): a container removed before any deploy leaves no migration behind."""
    in_place: bool = False
    """The base is the previous output itself (offline, rendering into the base): entry keys the
    state record says the last render wrote are then ours to remove."""
    held: Collection[str] = ()
    """Resources rendered before that still exist but cannot be rendered now (their image is
    unknown, their spec invalid): their entry, binding and record stay exactly as last rendered,
    never treated as removed."""
    base_name: str = "the base config"
    """How problems name the base config (a path, or a ConfigMap key)."""
    previous_name: str = "the previous output"


@dataclass(frozen=True)
class Plan:
    config_text: str
    config: dict[str, Any]
    """The same config as plain data."""
    generated_ts: str | None
    """_generated/containers.ts; None when the app has no containers."""
    state: RenderState
    changes: list[str]
    """The edits made to the base config, for a person to read ("added containers/WebContainer").
    From a separate base they repeat on every plan; compare `config_text` to see a change."""
    warnings: list[str]
    migration_tag: str | None
    """The last tag of the rendered migration history."""


def plan(request: PlanInput) -> Plan:
    """Raises PlanError listing every problem found; a conflict produces no output."""
    worker_name = request.app.spec.worker_name if request.app else None
    if request.base_text is None and worker_name is None:
        raise PlanError(["without a base config the LunoraApp is needed (for its workerName)"])
    base_text = (
        request.base_text if request.base_text is not None else empty_text(request.format, worker_name or "")
    )
    document = _open(base_text, request.format, request.base_name)
    worker_name = worker_name or lookup(document, ["name"])

    problems: list[str] = []
    desired: list[DesiredContainer] = []
    for container in request.containers:
        try:
            desired.append(
                desired_container(
                    container, worker_name or request.app_name, request.images, request.image_location
                )
            )
        except ImageUnavailable as error:
            problems.append(str(error))
    if problems:
        raise PlanError(problems)

    previous = None
    if request.previous_config_text is not None:
        previous = _open(request.previous_config_text, request.format, request.previous_name).get([])
    removed = removed_containers(request.previous_state, desired)
    held = (
        [owned for owned in request.previous_state.containers if owned.resource in request.held]
        if (request.previous_state)
        else []
    )
    kept = {owned.class_name for owned in held}
    # A held container keeps its last entry and binding the way an orphan does.
    carried = [replace(r, deletion_policy="Orphan") if r.class_name in kept else r for r in removed]
    problems = [
        f"{request.base_name}: {problem}" for problem in _missing_secrets_store_bindings(document, desired)
    ]
    try:
        merged = merge_config(
            document,
            desired,
            carried,
            previous,
            worker_name,
            written=_written(request.previous_state) if request.in_place else None,
            deployed=request.deployed_migrations,
            undeployed=request.undeployed,
        )
    except RenderConflict as conflict:
        problems = [f"{request.base_name}: {problem}" for problem in conflict.problems] + problems
    if problems:
        raise PlanError(problems)
    try:
        generated = render_containers_ts(desired, request.flavour)
    except CodegenUnsupported as error:
        raise PlanError([str(error)]) from None

    config = document.get([])
    return Plan(
        config_text=merged.text,
        config=config,
        generated_ts=generated or None,
        state=state_record(
            request.app_name, worker_name, desired, [r for r in removed if r.class_name not in kept], held
        ),
        changes=merged.changes,
        warnings=_warnings(config, desired),
        migration_tag=merged.migration_tag,
    )


def _open(text: str, format: Format, name: str) -> WranglerDocument:
    try:
        return open_document(text, format)
    except WranglerConfigError as error:
        raise PlanError([f"{name}:{error.line}:{error.column}: {error.message}"]) from None


def removed_containers(
    state: RenderState | None, desired: Sequence[DesiredContainer]
) -> list[RemovedContainer]:
    """Containers owned (or orphaned) last time that no resource describes any more."""
    if state is None:
        return []
    seen = {d.names.class_name for d in desired}
    removed: list[RemovedContainer] = []
    records: list[OwnedContainer | OrphanedContainer] = [*state.containers, *state.orphaned]
    for record in records:
        if record.class_name in seen:
            continue
        seen.add(record.class_name)
        policy = record.deletion_policy if isinstance(record, OwnedContainer) else "Orphan"
        removed.append(RemovedContainer(record.resource, record.class_name, record.binding_name, policy))
    # One order whatever the record's: carried entries land in the same place on every plan.
    return sorted(removed, key=lambda r: r.class_name)


def state_record(
    app_name: str,
    worker_name: str | None,
    desired: Sequence[DesiredContainer],
    removed: Sequence[RemovedContainer],
    held: Sequence[OwnedContainer] = (),
) -> RenderState:
    owned = [
        OwnedContainer(
            resource=d.names.resource,
            export_name=d.names.export_name,
            class_name=d.names.class_name,
            binding_name=d.names.binding_name,
            deletion_policy=d.deletion_policy,
            entry_keys=[".".join(path) for path in d.entry_paths],
        )
        for d in desired
    ]
    return RenderState(
        app=app_name,
        worker_name=worker_name,
        containers=sorted([*owned, *held], key=lambda o: o.export_name),
        orphaned=[
            OrphanedContainer(resource=r.resource, class_name=r.class_name, binding_name=r.binding_name)
            for r in sorted(removed, key=lambda r: r.class_name)
            if r.deletion_policy == "Orphan"
        ],
    )


def _written(state: RenderState | None) -> dict[str, Collection[EntryPath]]:
    if state is None:
        return {}
    return {
        owned.class_name: {tuple(key.split(".")) for key in owned.entry_keys or ()}
        for owned in state.containers
    }


def _missing_secrets_store_bindings(
    document: WranglerDocument, desired: Sequence[DesiredContainer]
) -> list[str]:
    """A `secretsStore` value names a Secrets Store binding of the Worker; without a matching
    `secrets_store_secrets` entry the container fails at its first start, so the render fails now."""
    declared = lookup(document, ["secrets_store_secrets"], [])
    bindings = (
        {entry.get("binding") for entry in declared if isinstance(entry, Mapping)}
        if isinstance(declared, list)
        else set()
    )
    problems = []
    for d in desired:
        for env_name, binding in sorted((d.spec.secrets_store or {}).items()):
            if binding not in bindings:
                problems.append(
                    f'LunoraContainer "{d.names.resource}" reads `secretsStore` {env_name} from the Secrets Store '
                    f'binding "{binding}", which the wrangler config does not declare; add '
                    f'{{"binding": "{binding}", "store_id": "<store id>", "secret_name": "<secret name>"}} '
                    "to `secrets_store_secrets` in the base config"
                )
    return problems


def _warnings(config: Mapping[str, Any], desired: Sequence[DesiredContainer]) -> list[str]:
    """Container logs are captured only when the Worker's observability (or its logs) is on;
    an explicit `enabled: false` is the user's choice and stays, but is worth a word."""
    observability = config.get("observability")
    if not desired or not isinstance(observability, Mapping) or observability.get("enabled") is not False:
        return []
    logs = observability.get("logs")
    if isinstance(logs, Mapping) and logs.get("enabled") is True:
        return []
    return [
        "`observability.enabled` is false in the wrangler config: container logs will not be captured; "
        "set it to true (or remove it) to capture them"
    ]
