"""The chart's Argo CD health check (files/argocd-health.lua), run as Argo CD runs it (gopher-lua,
gopher-json), against statuses made by the operator's own status functions; and the argocd-cm
merge NOTES.txt prints, done with the real kubectl."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lunora_operator.api.status import LunoraContainerStatus
from lunora_operator.reconcile.errors import Held, Stalled, Transient, Waiting
from lunora_operator.reconcile.status import StatusDraft, next_status, parse_status, progress_status
from lunora_operator.testing.environment import TestEnvironment
from tests.support.argocd import HealthCheck
from tests.support.chart import CHART, Helm, find
from tests.support.kube import Kubectl

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def health(tmp_path_factory: pytest.TempPathFactory) -> HealthCheck:
    return HealthCheck.build(tmp_path_factory.mktemp("argocd"))


def container(generation: int, status: dict[str, Any] | None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "lunora.sh/v1alpha1",
        "kind": "LunoraContainer",
        "metadata": {"name": "web", "namespace": "apps", "generation": generation},
        "spec": {"app": "demo", "image": {"registry": "docker.io/acme/web:1.0"}, **spec},
        **({"status": status} if status is not None else {}),
    }


def finished(generation: int, error: Exception | None) -> dict[str, Any]:
    """The status the operator writes at the end of a pass that ended with `error`."""
    draft = StatusDraft(generation)
    draft.summarise(error, "application demo-webcontainer is deployed")  # type: ignore[arg-type]
    progress = progress_status(LunoraContainerStatus(), generation, "reconciling", NOW)
    return next_status(progress, progress, draft, NOW).to_wire()


def test_ready_is_healthy(health: HealthCheck) -> None:
    assert health(container(3, finished(3, None))) == {
        "status": "Healthy",
        "message": "application demo-webcontainer is deployed",
    }


def test_a_stalled_resource_is_degraded_with_its_reason(health: HealthCheck) -> None:
    status = finished(2, Stalled("AuthFailed", "Cloudflare refused the API token"))
    assert health(container(2, status)) == {
        "status": "Degraded",
        "message": "AuthFailed: Cloudflare refused the API token",
    }
    # kstatus: Stalled alone decides, whatever Ready says.
    status["conditions"] = [
        {**c, "status": "Unknown"} if c["type"] == "Ready" else c for c in status["conditions"]
    ]
    assert health(container(2, status))["status"] == "Degraded"


@pytest.mark.parametrize(
    "error",
    [
        Waiting("SecretNotFound", 'Secret "apps/web" not found'),
        Transient("RateLimited", "429 from Cloudflare"),
    ],
    ids=["waiting", "transient"],
)
def test_a_retrying_resource_is_progressing_with_its_reason(health: HealthCheck, error: Exception) -> None:
    result = health(container(2, finished(2, error)))
    assert result == {"status": "Progressing", "message": f"{error.reason}: {error.message}"}  # type: ignore[attr-defined]


def test_a_new_generation_is_progressing_until_observed(health: HealthCheck) -> None:
    # Ready=True from generation 1, then the spec changed: not Healthy on a stale Ready.
    assert health(container(2, finished(1, None))) == {
        "status": "Progressing",
        "message": "Generation 2 not yet observed",
    }
    # The operator's first write of a new generation.
    previous = parse_status(LunoraContainerStatus, finished(1, None))
    in_progress = progress_status(previous, 2, "reconciling generation 2", NOW).to_wire()
    assert health(container(2, in_progress))["status"] == "Progressing"


def test_a_held_rollout_is_suspended_as_a_paused_deployment_is(health: HealthCheck) -> None:
    held = finished(2, Held("RolloutHeld", "rollout_kind none starts no rollout: start one yourself"))
    assert health(container(2, held)) == {
        "status": "Suspended",
        "message": "RolloutHeld: rollout_kind none starts no rollout: start one yourself",
    }


def test_no_status_yet_is_progressing(health: HealthCheck) -> None:
    assert health(container(1, None)) == {"status": "Progressing", "message": "Waiting for lunora-operator"}


def test_suspended_is_suspended_whatever_the_status(health: HealthCheck) -> None:
    stalled = finished(1, Stalled("InvalidSpec", "bad"))
    assert health(container(1, stalled, suspend=True))["status"] == "Suspended"


def test_deleting_is_progressing(health: HealthCheck) -> None:
    obj = container(1, finished(1, None))
    obj["metadata"]["deletionTimestamp"] = "2026-01-02T03:04:05Z"
    assert health(obj) == {"status": "Progressing", "message": "Deleting"}


@pytest.mark.apiserver
def test_notes_command_merges_the_health_checks_into_argocd_cm(
    testenv: TestEnvironment, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    """The command NOTES.txt prints, run with the real kubectl: argocd-cm keeps its own keys and
    gains both health checks (the namespace stands in for `argocd`)."""
    helm = Helm(binary=testenv.helm, home=tmp_path)
    values = {"argocd": {"healthCheck": {"enabled": True}}}
    documents = helm.template("lunora-operator", namespace, values)
    kubectl("apply", "-f", "-", stdin=json.dumps(find(documents, "ConfigMap")[0]))
    kubectl(
        "create", "configmap", "argocd-cm", "-n", namespace, "--from-literal=url=https://argocd.example.com"
    )
    notes = helm(
        "install", "lunora-operator", str(CHART), "--dry-run=client", "--namespace", namespace,
        "--values", str(helm.values_file(values)),
    ).stdout  # fmt: skip
    (command,) = [line.strip() for line in notes.splitlines() if "patch configmap argocd-cm" in line]
    command = command.replace("kubectl -n argocd", f"kubectl -n {namespace}").replace(
        "kubectl ", f"{testenv.kubectl} --kubeconfig {testenv.kubeconfig} "
    )
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    merged = json.loads(kubectl("get", "configmap", "argocd-cm", "-n", namespace, "-o", "json").stdout)[
        "data"
    ]
    lua = (CHART / "files" / "argocd-health.lua").read_text()
    assert merged == {
        "url": "https://argocd.example.com",
        "resource.customizations.health.lunora.sh_LunoraContainer": lua,
        "resource.customizations.health.lunora.sh_LunoraApp": lua,
    }
