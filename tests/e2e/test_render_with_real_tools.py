"""Rendered configs pass the real wrangler (`deploy --dry-run`), generated TypeScript passes tsc.

Render cases live in tests/corpus/render/<case>/: a base wrangler config, resource files and
`render.args`. Images there are registry references, since a dry-run builds Dockerfiles.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lunora_operator.render import render, write_output
from lunora_operator.testing.environment import TestEnvironment
from lunora_operator.wrangler.document import format_of, open_document
from tests.support.node import NodeTools

RENDER_CASES = Path(__file__).resolve().parents[1] / "corpus" / "render"
LUNORA_DO = Path(__file__).resolve().parents[1] / "fixtures" / "typescript" / "lunora-container-do.d.ts"


@pytest.fixture
def node(testenv: TestEnvironment, tmp_path_factory: pytest.TempPathFactory) -> NodeTools:
    return NodeTools(root=testenv.node_tools, state=tmp_path_factory.mktemp("wrangler-state"))


def render_args(case: Path) -> dict:
    args = (case / "render.args").read_text().split() if (case / "render.args").is_file() else []
    options: dict = {"images": {}, "flavour": "lunora"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag == "--image":
            name, reference = value.split("=", 1)
            options["images"][name] = reference
        elif flag == "--flavour":
            options["flavour"] = value
    return options


def render_in_place(case: Path, workdir: Path) -> Path:
    """Copies the case and renders it into its own base config, as a repository would."""
    shutil.copytree(case, workdir, dirs_exist_ok=True)
    base = next(p for p in workdir.iterdir() if format_of(p.name) and p.name.startswith("wrangler"))
    output = render([workdir / "resources"], workdir, base=base, **render_args(case))
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


CASES = sorted(p for p in RENDER_CASES.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_wrangler_accepts_the_rendered_config(case: Path, node: NodeTools, tmp_path: Path) -> None:
    config = render_in_place(case, tmp_path)
    if render_args(case)["flavour"] == "lunora":
        plain_js_worker(tmp_path)
    else:
        node.link_node_modules(tmp_path)  # the worker bundles the generated classes

    result = node.wrangler_dry_run(config)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "--dry-run: exiting now." in result.stdout
    rendered = open_document(config.read_text(), format_of(config.name))  # type: ignore[arg-type]
    for entry in rendered.get(["containers"]):
        assert entry["image"] in result.stdout  # wrangler lists every container it would deploy


def test_wrangler_accepts_a_second_render_that_updates_and_deletes(node: NodeTools, tmp_path: Path) -> None:
    case = RENDER_CASES / "jsonc-lunora"
    config = render_in_place(case, tmp_path)
    (tmp_path / "resources" / "container-minimal.yaml").unlink()  # deletionPolicy Delete
    every = tmp_path / "resources" / "container-every-option.yaml"
    every.write_text(every.read_text().replace("maxInstances: 5", "maxInstances: 7"))

    output = render([tmp_path / "resources"], tmp_path, base=config, **render_args(case))
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


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_generated_typescript_type_checks(case: Path, node: NodeTools, tmp_path: Path) -> None:
    render_in_place(case, tmp_path / "render")
    project = tmp_path / "check"
    (project / "_generated").mkdir(parents=True)
    shutil.copy(
        tmp_path / "render" / "_generated" / "containers.ts", project / "_generated" / "containers.ts"
    )
    if render_args(case)["flavour"] == "lunora":
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
