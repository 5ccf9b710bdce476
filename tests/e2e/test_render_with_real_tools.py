"""Rendered configs pass the real wrangler (`deploy --dry-run`), generated TypeScript passes tsc.

Render cases live in tests/corpus/render/<case>/: a base wrangler config, resource files and
`render.args`. Images there are registry references, since a dry-run builds Dockerfiles.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lunora_operator.api.resources import LunoraContainer
from lunora_operator.api.validation import validate_resource
from lunora_operator.codegen.containers_ts import Flavour
from lunora_operator.render import render, write_output
from lunora_operator.testing.environment import TestEnvironment
from lunora_operator.wrangler.desired import desired_container
from lunora_operator.wrangler.document import format_of, open_document
from tests.support.corpus import CorpusCase, cases
from tests.support.node import NodeTools
from tests.support.render_corpus import CASES, RENDER_CASES, base_config, render_args

LUNORA_DO = Path(__file__).resolve().parents[1] / "fixtures" / "typescript" / "lunora-container-do.d.ts"


@pytest.fixture
def node(testenv: TestEnvironment, tmp_path_factory: pytest.TempPathFactory) -> NodeTools:
    return NodeTools(root=testenv.node_tools, state=tmp_path_factory.mktemp("wrangler-state"))


def render_in_place(case: Path, workdir: Path, flavour: Flavour | None = None) -> Path:
    """Copies the case and renders it into its own base config, as a repository would."""
    shutil.copytree(case, workdir, dirs_exist_ok=True)
    base = base_config(workdir)
    options = render_args(case)
    output = render(
        [workdir / "resources"], workdir, base=base, images=options.images, flavour=flavour or options.flavour
    )
    write_output(output, workdir)
    return base


def plain_js_worker(workdir: Path) -> None:
    """A worker module exporting every class the config needs, for configs whose generated
    classes import @lunora/container/do (not on npm, so not bundleable)."""
    state = json.loads((workdir / "lunora-render.json").read_text())
    classes = ["ShardDO"] + [c["className"] for c in state["containers"]]
    lines = [
        f"export class {name} {{ constructor(ctx, env) {{}} fetch() {{ return new Response('ok'); }} }}"
        for name in classes
    ]
    lines.append("export default { fetch() { return new Response('ok'); } };")
    (workdir / "index.js").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_wrangler_accepts_the_rendered_config(case: Path, node: NodeTools, tmp_path: Path) -> None:
    config = render_in_place(case, tmp_path)
    if render_args(case).flavour == "lunora":
        plain_js_worker(tmp_path)
    else:
        node.link_node_modules(tmp_path)  # the worker bundles the generated classes

    result = node.wrangler_dry_run(config)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "--dry-run: exiting now." in result.stdout
    fmt = format_of(config.name)
    assert fmt is not None
    rendered = open_document(config.read_text(), fmt)
    for entry in rendered.get(["containers"]):
        assert entry["image"] in result.stdout  # wrangler lists every container it would deploy


def test_wrangler_accepts_a_second_render_that_updates_and_deletes(node: NodeTools, tmp_path: Path) -> None:
    case = RENDER_CASES / "jsonc-lunora"
    config = render_in_place(case, tmp_path)
    (tmp_path / "resources" / "container-minimal.yaml").unlink()  # deletionPolicy Delete
    every = tmp_path / "resources" / "container-every-option.yaml"
    every.write_text(every.read_text().replace("maxInstances: 5", "maxInstances: 7"))

    options = render_args(case)
    output = render(
        [tmp_path / "resources"], tmp_path, base=config, images=options.images, flavour=options.flavour
    )
    write_output(output, tmp_path)
    plain_js_worker(tmp_path)
    result = node.wrangler_dry_run(config)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "added migration v3 (deleted_classes TranscoderContainer)" in output.changes
    assert "updated containers/ImageResizerContainer (max_instances)" in output.changes
    assert "TranscoderContainer" not in result.stdout


def test_wrangler_rejects_what_the_render_would_never_write(node: NodeTools, tmp_path: Path) -> None:
    # A control: the dry-run is a real check, not a formality.
    config = render_in_place(RENDER_CASES / "jsonc-lunora", tmp_path)
    plain_js_worker(tmp_path)
    document = open_document(config.read_text(), "jsonc")
    document.set(["containers", 0, "rollout_step_percentage"], 7)
    config.write_text(document.text)

    result = node.wrangler_dry_run(config)

    assert result.returncode != 0
    assert "rollout_step_percentage" in result.stderr


@pytest.mark.parametrize(
    ("case", "flavour"),
    [(case, None) for case in CASES] + [(case, "local") for case in CASES],
    ids=lambda p: getattr(p, "name", p or "as-rendered"),
)
def test_generated_typescript_type_checks(
    case: Path, flavour: Flavour | None, node: NodeTools, tmp_path: Path
) -> None:
    render_in_place(case, tmp_path / "render", flavour)
    project = tmp_path / "check"
    (project / "_generated").mkdir(parents=True)
    shutil.copy(
        tmp_path / "render" / "_generated" / "containers.ts", project / "_generated" / "containers.ts"
    )
    if (flavour or render_args(case).flavour) == "lunora":
        shutil.copy(LUNORA_DO, project / "lunora-container-do.d.ts")

    result = node.tsc(project)

    assert result.returncode == 0, result.stdout + result.stderr


def test_type_check_catches_a_wrong_field_type(node: NodeTools, tmp_path: Path) -> None:
    render_in_place(RENDER_CASES / "toml-cloudflare", tmp_path / "render")
    project = tmp_path / "check"
    (project / "_generated").mkdir(parents=True)
    generated = (tmp_path / "render" / "_generated" / "containers.ts").read_text()
    assert 'sleepAfter = "2m";' in generated
    (project / "_generated" / "containers.ts").write_text(
        generated.replace('sleepAfter = "2m";', "sleepAfter = true;")
    )

    result = node.tsc(project)

    assert result.returncode != 0
    assert "TS2416" in result.stdout


WRANGLER_REJECTS = [case for case in cases("invalid") if case.wrangler_error]


def dry_run_entry(
    node: NodeTools, workdir: Path, resource: LunoraContainer
) -> subprocess.CompletedProcess[str]:
    """`wrangler deploy --dry-run` of a minimal Worker whose one container entry is what the
    renderer makes of `resource`, whatever the API's rules say about it."""
    entry = desired_container(resource, "demo-app").entry
    config = {
        "name": "demo-app",
        "main": "index.js",
        "compatibility_date": "2025-09-01",
        "durable_objects": {"bindings": [{"name": "CONTAINER_WEB", "class_name": entry["class_name"]}]},
        "migrations": [{"tag": "v1", "new_sqlite_classes": [entry["class_name"]]}],
        "containers": [entry],
    }
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "wrangler.jsonc").write_text(json.dumps(config, indent=2))
    (workdir / "index.js").write_text(
        f"export class {entry['class_name']} {{ constructor(ctx, env) {{}} }}\n"
        "export default { fetch() { return new Response('ok'); } };\n"
    )
    return node.wrangler_dry_run(workdir / "wrangler.jsonc")


@pytest.mark.parametrize("case", WRANGLER_REJECTS, ids=lambda case: case.id)
def test_wrangler_rejects_what_the_crd_rejects(case: CorpusCase, node: NodeTools, tmp_path: Path) -> None:
    """Each invalid resource marked `# wrangler:` breaks a rule the real wrangler enforces too:
    the entry the renderer would make of it (the API's own rules skipped) fails the dry-run."""
    resource = LunoraContainer.model_validate(case.document)  # the schema only, not the rules

    result = dry_run_entry(node, tmp_path, resource)

    assert result.returncode != 0, result.stdout
    assert case.wrangler_error in result.stdout + result.stderr


def test_the_rejection_harness_accepts_a_valid_entry(node: NodeTools, tmp_path: Path) -> None:
    valid = next(case for case in cases("valid") if case.id == "container-rollout-steps")
    resource = validate_resource(valid.document)
    assert isinstance(resource, LunoraContainer)

    result = dry_run_entry(node, tmp_path, resource)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "--dry-run: exiting now." in result.stdout
