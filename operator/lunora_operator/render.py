"""Offline render, the planner's file adapter: resource YAML files + a base wrangler config ->
the files a Worker deploys with.

No cluster is involved. The output directory receives the merged wrangler config,
`_generated/containers.ts` and `lunora-render.json`, the state record of which containers the
render owns (so a container whose file was removed can be deleted from the config according
to its `deletionPolicy`) — the same facts the operator keeps in the app's output ConfigMap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.api.rules import FieldError
from lunora_operator.api.validation import ResourceInvalid, validate_resource
from lunora_operator.codegen.containers_ts import Flavour
from lunora_operator.planner import STATE_FILE, PlanError, PlanInput, RenderState, StateRecordInvalid, plan
from lunora_operator.wrangler.desired import ImageLocation
from lunora_operator.wrangler.document import FILE_NAMES, Format, format_of

GENERATED_TS = Path("_generated") / "containers.ts"
YAML_SUFFIXES = (".yaml", ".yml")
GROUP_PREFIX = "lunora.sh/"
# libyaml's parser when PyYAML was built with it: several times faster on many resources.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


RenderError = PlanError
"""Input the render cannot use; each problem names its file, line and field (the planner's
error, raised by the file adapter too)."""


@dataclass(frozen=True)
class SourceDocument:
    path: Path
    line: int
    document: dict[str, Any]
    node: yaml.Node


@dataclass
class RenderOutput:
    files: dict[Path, str]
    obsolete: list[Path] = field(default_factory=list)
    """Files a previous render wrote that must go (the TypeScript of an app with no containers)."""
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- reading resources -------------------------------------------------------------------------


def _yaml_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise RenderError([f"{path}: no such file or directory"])
    return found


def load_documents(paths: Iterable[Path]) -> list[SourceDocument]:
    """Every lunora.sh document in the files (other kinds, e.g. a Deployment, are skipped)."""
    documents: list[SourceDocument] = []
    problems: list[str] = []
    for path in _yaml_files(paths):
        text = path.read_text()
        try:
            nodes = list(yaml.compose_all(text, Loader=_LOADER))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            problems.append(f"{where}: not valid YAML: {getattr(error, 'problem', error)}")
            continue
        for node in nodes:
            if node is None:
                continue
            document = _construct(node)
            if isinstance(document, dict) and str(document.get("apiVersion", "")).startswith(GROUP_PREFIX):
                documents.append(SourceDocument(path, node.start_mark.line + 1, document, node))
    if problems:
        raise RenderError(problems)
    return documents


def _construct(node: yaml.Node) -> Any:
    """The plain value of a composed node (kept for the lines of errors)."""
    constructor = yaml.SafeLoader("")
    try:
        return constructor.construct_document(node)
    finally:
        constructor.dispose()


def _line_of(node: yaml.Node, field_path: str) -> int:
    """The line of the deepest node on `field_path` (spec.readyOn[0].port) that exists."""
    current = node
    for part in field_path.replace("[", ".[").split("."):
        if not part:
            continue
        if isinstance(current, yaml.MappingNode) and not part.startswith("["):
            match = next((value for key, value in current.value if key.value == part), None)
        elif isinstance(current, yaml.SequenceNode) and part.startswith("["):
            index = int(part.strip("[]")) if part.strip("[]").isdigit() else -1
            match = current.value[index] if 0 <= index < len(current.value) else None
        else:
            match = None
        if match is None:
            break
        current = match
    return current.start_mark.line + 1


def parse_resources(sources: Sequence[SourceDocument]) -> tuple[list[LunoraApp], list[LunoraContainer]]:
    apps: list[LunoraApp] = []
    containers: list[LunoraContainer] = []
    problems: list[str] = []
    for source in sources:
        try:
            resource = validate_resource(source.document)
        except ResourceInvalid as invalid:
            problems += [_located(source, error) for error in invalid.errors]
            continue
        if isinstance(resource, LunoraApp):
            apps.append(resource)
        else:
            containers.append(resource)
    if problems:
        raise RenderError(problems)
    return apps, containers


def _located(source: SourceDocument, error: FieldError) -> str:
    return f"{source.path}:{_line_of(source.node, error.field)}: {error.field}: {error.message}"


# --- choosing the app --------------------------------------------------------------------------


def select_app(
    apps: Sequence[LunoraApp], containers: Sequence[LunoraContainer], wanted: str | None
) -> tuple[str, LunoraApp | None, list[LunoraContainer]]:
    referenced = sorted({c.spec.app for c in containers} | {a.metadata.name for a in apps})
    if wanted is None:
        if len(referenced) > 1:
            raise RenderError(
                [f"the files describe several apps ({', '.join(referenced)}); choose one with --app"]
            )
        if not referenced:
            raise RenderError(["the files hold no LunoraContainer or LunoraApp"])
        wanted = referenced[0]
    app = next((a for a in apps if a.metadata.name == wanted), None)
    members = [c for c in containers if c.spec.app == wanted]
    if app is None and not members:
        raise RenderError([f'no LunoraContainer or LunoraApp belongs to app "{wanted}"'])
    return wanted, app, members


# --- the render --------------------------------------------------------------------------------


def _previous_state(out_dir: Path) -> RenderState | None:
    path = out_dir / STATE_FILE
    if not path.is_file():
        return None
    try:
        return RenderState.from_json(path.read_text())
    except StateRecordInvalid as invalid:
        raise RenderError(invalid.located(str(path))) from None


def render(
    resource_paths: Sequence[Path],
    out_dir: Path,
    base: Path | None = None,
    format: Format | None = None,
    flavour: Flavour = "lunora",
    images: Mapping[str, str] | None = None,
    app_name: str | None = None,
) -> RenderOutput:
    """Computes the output files; writes nothing."""
    apps, containers = parse_resources(load_documents(resource_paths))
    app_name, app, members = select_app(apps, containers, app_name)

    base_format = format_of(base.name) if base is not None else None
    if base is not None and base_format is None:
        raise RenderError([f"{base}: the base config must end in .toml, .jsonc or .json"])
    if format is not None and base_format is not None and format != base_format:
        raise RenderError(
            [
                f"{base}: --format {format} does not match the base config ({base_format}); a config keeps its format"
            ]
        )
    fmt: Format = base_format or format or (app.spec.wrangler.format if app else "jsonc")
    if base is not None and not base.is_file():
        raise RenderError([f"{base}: no such file"])
    if base is None and app is None:
        raise RenderError(["without --base the files must include the LunoraApp (for its workerName)"])

    out_config = out_dir / FILE_NAMES[fmt]
    in_place = base is not None and out_config.resolve() == base.resolve()
    request = PlanInput(
        app_name=app_name,
        app=app,
        containers=members,
        base_text=base.read_text() if base is not None else None,
        format=fmt,
        previous_config_text=out_config.read_text() if out_config.is_file() and not in_place else None,
        previous_state=_previous_state(out_dir),
        images=images or {},
        flavour=flavour,
        image_location=ImageLocation(
            base_dir=str((base.parent if base else Path.cwd()).resolve()), out_dir=str(out_dir.resolve())
        ),
        in_place=in_place,
        base_name=str(base or out_config),
        previous_name=str(out_config),
    )
    result = plan(request)
    files = {Path(FILE_NAMES[fmt]): result.config_text, Path(STATE_FILE): result.state.to_json()}
    if result.generated_ts is not None:
        files[GENERATED_TS] = result.generated_ts
    obsolete = [] if result.generated_ts is not None else [GENERATED_TS]
    return RenderOutput(files=files, obsolete=obsolete, changes=result.changes, warnings=result.warnings)


def pending_changes(output: RenderOutput, out_dir: Path) -> list[Path]:
    """Output files whose content differs from what is on disk."""
    stale = []
    for relative, content in output.files.items():
        target = out_dir / relative
        if not target.is_file() or target.read_text() != content:
            stale.append(relative)
    return stale + [relative for relative in output.obsolete if (out_dir / relative).exists()]


def write_output(output: RenderOutput, out_dir: Path) -> list[Path]:
    written: list[Path] = []
    for relative in pending_changes(output, out_dir):
        target = out_dir / relative
        if relative in output.obsolete:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(output.files[relative])
        written.append(relative)
    return written
