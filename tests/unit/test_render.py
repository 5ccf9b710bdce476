"""`lunora-operator render`: offline, file in, files out; `checklist_N` names the item of Lunora's
conformance checklist a test covers."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lunora_operator.cli import app
from lunora_operator.wrangler.document import open_document

APP = """\
apiVersion: lunora.sh/v1alpha1
kind: LunoraApp
metadata: {name: demo}
spec: {workerName: demo, mode: local}
"""


def container_yaml(name: str, spec: str) -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip(), "  ")
    return f"apiVersion: lunora.sh/v1alpha1\nkind: LunoraContainer\nmetadata: {{name: {name}}}\nspec:\n  app: demo\n{body}\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "crs").mkdir()
    (tmp_path / "crs" / "app.yaml").write_text(APP)
    (tmp_path / "crs" / "web.yaml").write_text(
        container_yaml("web", "image: {registry: docker.io/acme/web:1.0}")
    )
    (tmp_path / "wrangler.jsonc").write_text('{\n  // mine\n  "name": "demo",\n  "main": "src/index.ts"\n}\n')
    return tmp_path


def run(project: Path, *args: str, out: str = "out"):
    files = ["-f", str(project / "crs"), "--base", str(project / "wrangler.jsonc")]
    return CliRunner().invoke(app, ["render", *files, "--out", str(project / out), *args])


def config(project: Path) -> dict:
    return open_document((project / "out" / "wrangler.jsonc").read_text(), "jsonc").get([])


def test_render_writes_config_typescript_and_state(project: Path) -> None:
    result = run(project)

    assert result.exit_code == 0, result.output
    assert config(project)["containers"][0]["class_name"] == "WebContainer"
    assert (
        "export class WebContainer extends LunoraContainer"
        in (project / "out/_generated/containers.ts").read_text()
    )
    state = json.loads((project / "out/lunora-render.json").read_text())
    assert state["containers"][0]["bindingName"] == "CONTAINER_WEB"
    assert "added migration v1 (new_sqlite_classes WebContainer)" in result.output


def test_check_passes_when_up_to_date_and_fails_when_not(project: Path) -> None:
    assert run(project, "--check").exit_code == 1
    assert not (project / "out").exists()

    run(project)
    assert run(project, "--check").exit_code == 0

    (project / "crs" / "web.yaml").write_text(
        container_yaml("web", "image: {registry: docker.io/acme/web:2.0}")
    )
    stale = run(project, "--check")
    assert stale.exit_code == 1
    assert f"would change {project / 'out' / 'wrangler.jsonc'}" in stale.output


def test_invalid_resource_is_reported_with_file_line_and_field(project: Path) -> None:
    (project / "crs" / "bad.yaml").write_text(
        container_yaml("bad", "image: {registry: docker.io/acme/bad:1}\ndefaultPort: 70000")
    )

    result = run(project)

    assert result.exit_code == 2
    assert (
        f"{project / 'crs' / 'bad.yaml'}:7: spec.defaultPort: `defaultPort` must be an integer in 1–65535 (got 70000)"
        in result.output
    )
    assert not (project / "out").exists()


def test_broken_base_config_is_reported_with_line_and_column(project: Path) -> None:
    (project / "wrangler.jsonc").write_text('{\n  "name": "demo",\n  "main" "x"\n}\n')

    result = run(project)

    assert result.exit_code == 2
    assert "wrangler.jsonc:3:" in result.output


def test_path_context_becomes_dockerfile_and_build_context_checklist_37_38_40(project: Path) -> None:
    """37: a directory (trailing slash or not) -> Dockerfile <dir>/Dockerfile, context <dir>;
    38: an explicit Dockerfile.dev is used as-is; 40: one trailing slash trimmed.
    (36, Lunora's `lunora-<name>:build` tag, does not apply: wrangler rejects a bare tag as an
    image, so a build image is its pushed reference or its Dockerfile path.)"""
    (project / "crs" / "web.yaml").write_text(
        container_yaml(
            "web",
            """
            image:
              build:
                context: {path: ./containers/web/}
                buildArgs: {NODE_VERSION: "22"}
            """,
        )
    )
    (project / "crs" / "api.yaml").write_text(
        container_yaml(
            "api", "image: {build: {context: {path: ./containers/api}, dockerfile: Dockerfile.dev}}"
        )
    )

    assert run(project).exit_code == 0

    entries = {entry["class_name"]: entry for entry in config(project)["containers"]}
    assert entries["WebContainer"]["image"] == "../containers/web/Dockerfile"
    assert entries["WebContainer"]["image_build_context"] == "../containers/web"
    assert entries["WebContainer"]["image_vars"] == {"NODE_VERSION": "22"}
    assert entries["ApiContainer"]["image"] == "../containers/api/Dockerfile.dev"


def test_registry_reference_passes_through_unchanged_checklist_39(project: Path) -> None:
    reference = "registry.cloudflare.com/0123456789abcdef0123456789abcdef/web:v1"
    (project / "crs" / "web.yaml").write_text(container_yaml("web", f"image: {{registry: {reference}}}"))

    assert run(project).exit_code == 0

    assert config(project)["containers"][0]["image"] == reference
    assert "image_build_context" not in config(project)["containers"][0]


def test_git_context_needs_a_pushed_image(project: Path) -> None:
    (project / "crs" / "web.yaml").write_text(
        container_yaml("web", "image: {build: {context: {git: {url: 'https://github.com/acme/web.git'}}}}")
    )

    refused = run(project)
    accepted = run(project, "--image", "web=registry.cloudflare.com/acct/web@sha256:" + "a" * 64)

    assert refused.exit_code == 2
    assert "pass the pushed reference with --image web=<registry reference>" in refused.output
    assert accepted.exit_code == 0, accepted.output
    assert config(project)["containers"][0]["image"].endswith("a" * 64)


def test_removed_file_deletes_per_its_policy(project: Path) -> None:
    (project / "crs" / "api.yaml").write_text(
        container_yaml("api", "image: {registry: docker.io/acme/api:1}\ndeletionPolicy: Delete")
    )
    (project / "crs" / "job.yaml").write_text(
        container_yaml("job", "image: {registry: docker.io/acme/job:1}\ndeletionPolicy: Orphan")
    )
    run(project)

    (project / "crs" / "api.yaml").unlink()
    (project / "crs" / "job.yaml").unlink()
    result = run(project)

    rendered = config(project)
    assert result.exit_code == 0, result.output
    assert [c["class_name"] for c in rendered["containers"]] == ["WebContainer", "JobContainer"]
    assert rendered["migrations"] == [
        {"new_sqlite_classes": ["ApiContainer", "JobContainer", "WebContainer"], "tag": "v1"},
        {"deleted_classes": ["ApiContainer"], "tag": "v2"},
    ]
    state = json.loads((project / "out/lunora-render.json").read_text())
    assert [c["className"] for c in state["containers"]] == ["WebContainer"]
    assert [c["className"] for c in state["orphaned"]] == ["JobContainer"]
    # the orphan's entry keeps being carried; the deleted class stays deleted
    again = run(project)
    assert again.exit_code == 0
    assert config(project) == rendered


def test_history_survives_a_base_that_never_had_it(project: Path) -> None:
    run(project)
    (project / "crs" / "api.yaml").write_text(
        container_yaml("api", "image: {registry: docker.io/acme/api:1}")
    )

    run(project)

    assert [m["tag"] for m in config(project)["migrations"]] == ["v1", "v2"]
    assert config(project)["migrations"][1]["new_sqlite_classes"] == ["ApiContainer"]


def test_in_place_render_edits_the_base_itself(project: Path) -> None:
    result = run(project, out=".")

    assert result.exit_code == 0, result.output
    assert "// mine" in (project / "wrangler.jsonc").read_text()
    assert "CONTAINER_WEB" in (project / "wrangler.jsonc").read_text()


def test_several_apps_need_a_choice(project: Path) -> None:
    (project / "crs" / "other.yaml").write_text(
        container_yaml("x", "image: {registry: a/b:1}").replace("app: demo", "app: other")
    )

    result = run(project)

    assert result.exit_code == 2
    assert "several apps (demo, other); choose one with --app" in result.output
    assert run(project, "--app", "demo").exit_code == 0


def test_without_base_the_app_gives_name_and_format(project: Path) -> None:
    result = CliRunner().invoke(
        app, ["render", "-f", str(project / "crs"), "--out", str(project / "out"), "--format", "toml"]
    )

    assert result.exit_code == 0, result.output
    text = (project / "out" / "wrangler.toml").read_text()
    assert text.startswith('name = "demo"\n')
    assert "[[containers]]" in text


def test_format_that_does_not_match_the_base_is_refused(project: Path) -> None:
    result = run(project, "--format", "toml")

    assert result.exit_code == 2
    assert "does not match the base config (jsonc)" in result.output


def test_cloudflare_flavour_refuses_lunora_only_options(project: Path) -> None:
    (project / "crs" / "web.yaml").write_text(
        container_yaml("web", "image: {registry: docker.io/acme/web:1.0}\nhardTimeout: 1h")
    )

    result = run(project, "--flavour", "cloudflare")

    assert result.exit_code == 2
    assert "sets `hardTimeout`, which the @cloudflare/containers flavour cannot express" in result.output


def test_other_kinds_in_the_files_are_ignored(project: Path) -> None:
    (project / "crs" / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
    )

    assert run(project).exit_code == 0


def test_typescript_goes_when_the_last_container_goes(project: Path) -> None:
    run(project)
    (project / "crs" / "web.yaml").unlink()

    assert run(project, "--check").exit_code == 1
    result = run(project)

    assert result.exit_code == 0, result.output
    assert not (project / "out" / "_generated" / "containers.ts").exists()
    assert config(project)["migrations"][-1] == {"deleted_classes": ["WebContainer"], "tag": "v2"}


def test_observability_switched_off_is_kept_and_warned_about(project: Path) -> None:
    (project / "wrangler.jsonc").write_text('{"name": "demo", "observability": {"enabled": false}}\n')

    result = run(project)

    assert result.exit_code == 0, result.output
    assert (
        "warning: `observability.enabled` is false in the wrangler config: container logs will not be captured"
        in (result.stderr)
    )
    assert config(project)["observability"] == {"enabled": False}


def test_a_missing_secrets_store_binding_fails_the_render_and_writes_nothing(project: Path) -> None:
    (project / "crs" / "web.yaml").write_text(
        container_yaml(
            "web", "image: {registry: docker.io/acme/web:1.0}\nsecretsStore: {STRIPE_KEY: STRIPE_SECRET}"
        )
    )

    result = run(project)

    assert result.exit_code == 2
    assert (
        'Secrets Store binding "STRIPE_SECRET", which the wrangler config does not declare' in result.output
    )
    assert not (project / "out").exists()


def test_in_place_a_users_own_rollout_steps_survive(project: Path) -> None:
    (project / "wrangler.jsonc").write_text(
        '{\n  "name": "demo",\n  "containers": [\n    {"class_name": "WebContainer", "image": "docker.io/acme/web:1.0",'
        ' "rollout_step_percentage": [10, 100]}\n  ]\n}\n'
    )
    run(project, out=".")
    (project / "crs" / "web.yaml").write_text(
        container_yaml("web", "image: {registry: docker.io/acme/web:1.0}\nmaxInstances: 3")
    )
    run(project, out=".")
    (project / "crs" / "web.yaml").write_text(
        container_yaml("web", "image: {registry: docker.io/acme/web:1.0}")
    )

    result = run(project, out=".")

    rendered = open_document((project / "wrangler.jsonc").read_text(), "jsonc").get([])
    assert result.exit_code == 0, result.output
    assert rendered["containers"][0]["rollout_step_percentage"] == [10, 100]  # the user's: kept
    assert "max_instances" not in rendered["containers"][0]  # written by the render: removed


@pytest.mark.parametrize(
    ("option", "value", "choices"),
    [("--flavour", "workers", "'lunora', 'cloudflare'"), ("--format", "yaml", "'toml', 'jsonc'")],
)
def test_format_and_flavour_are_typed_choices(project: Path, option: str, value: str, choices: str) -> None:
    result = run(project, option, value)

    words = " ".join(result.output.replace("│", " ").split())  # the error box wraps lines
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': Value error, '{value}' is not one of {choices}." in words


def test_broken_yaml_is_reported_with_file_and_line(project: Path) -> None:
    (project / "crs" / "bad.yaml").write_text(
        "apiVersion: lunora.sh/v1alpha1\nkind: LunoraApp\nmetadata: {name: x\n"
    )

    result = run(project)

    assert result.exit_code == 2
    assert f"{project / 'crs' / 'bad.yaml'}:4: not valid YAML: " in result.output
