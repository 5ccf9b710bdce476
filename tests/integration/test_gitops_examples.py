"""examples/gitops/: what can be checked without Flux. Both kustomizations build; the app's
resources pass a server-side dry run against the CRDs; the HelmRelease's values pass the chart's
values schema; every `dependsOn`, `healthChecks` entry and `path` names something that exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lunora_operator.testing.environment import TestEnvironment
from tests.support.chart import CHART, Helm
from tests.support.kube import Kubectl

pytestmark = pytest.mark.apiserver
REPO_ROOT = Path(__file__).resolve().parents[2]
GITOPS = REPO_ROOT / "examples" / "gitops"


def build(kubectl: Kubectl, directory: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(kubectl("kustomize", str(directory)).stdout) if d]


def test_the_apps_kustomization_builds_and_its_resources_pass_a_server_side_dry_run(
    kubectl: Kubectl, namespace: str
) -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO_ROOT / "crds"))
    documents = build(kubectl, GITOPS / "apps" / "demo")
    assert {d["kind"] for d in documents} == {"ConfigMap", "LunoraApp", "LunoraContainer"}
    kubectl.apply(yaml.safe_dump_all(documents), "-n", namespace, "--dry-run=server")


def test_flux_objects_name_what_exists(kubectl: Kubectl, testenv: TestEnvironment, tmp_path: Path) -> None:
    operator = build(kubectl, GITOPS / "operator")
    release = next(d for d in operator if d["kind"] == "HelmRelease")
    repository = next(d for d in operator if d["kind"] == "HelmRepository")
    assert release["spec"]["chart"]["spec"]["sourceRef"]["name"] == repository["metadata"]["name"]
    assert (
        release["spec"]["chart"]["spec"]["chart"]
        == yaml.safe_load((CHART / "Chart.yaml").read_text())["name"]
    )
    # The release's values are the chart's: its schema accepts them.
    Helm(testenv.helm, tmp_path).template("lunora-operator", "lunora-system", release["spec"]["values"])

    kustomizations = [d for d in yaml.safe_load_all((GITOPS / "demo.yaml").read_text()) if d]
    names = {k["metadata"]["name"] for k in kustomizations}
    apps = build(kubectl, GITOPS / "apps" / "demo")
    for kustomization in kustomizations:
        spec = kustomization["spec"]
        assert (REPO_ROOT / spec["path"] / "kustomization.yaml").is_file(), spec["path"]
        for dependency in spec.get("dependsOn", []):
            assert dependency["name"] in names
        for check in spec.get("healthChecks", []):
            if check["kind"] == "HelmRelease":
                assert check["name"] == release["metadata"]["name"]
            else:
                assert any(
                    d["kind"] == check["kind"] and d["metadata"]["name"] == check["name"] for d in apps
                ), check
