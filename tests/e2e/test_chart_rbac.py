"""The chart's RBAC is enough, proven by the real operator: the chart's CRDs, ServiceAccount and
RBAC are installed into a fresh namespace, the operator runs with a token of that ServiceAccount
(TokenRequest API) and nothing else, and the examples reach Ready, a deletion completes and no
request is refused. A rule missing from the chart fails this test.

The operator runs on the host, not in the chart's Deployment: there is no image to run, and the
test cluster has no Service networking (an in-cluster client could not reach the API server)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.environment import TestEnvironment
from tests.support.argocd import HealthCheck
from tests.support.chart import (
    Helm,
    find,
    install_without_deployment,
    service_account_token,
    token_kubeconfig,
)
from tests.support.kube import KubeClients, Kubectl
from tests.support.operator import Resources, example_manifests, operator_process, wait_for

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry]

# Whole words: a port or an id may contain the digits 403 (it did: 127.0.0.1:39303).
REFUSED = re.compile(r"\b(403|Forbidden|forbidden)\b|Not enough permissions")
# Nor in a log line's timestamp: `[2026-12-02 05:12:03,403]` is a time, not a refusal.
TIMESTAMP = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\]")


@pytest.fixture(scope="module")
def helm(testenv: TestEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(binary=testenv.helm, home=tmp_path_factory.mktemp("helm"))


@pytest.fixture(scope="module")
def health(tmp_path_factory: pytest.TempPathFactory) -> HealthCheck:
    return HealthCheck.build(tmp_path_factory.mktemp("argocd"))


@pytest.fixture
def release() -> str:
    return f"rbac-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cluster_objects(kubectl: Kubectl, release: str) -> Iterator[None]:
    """Removes the release's cluster-scoped RBAC when the test ends (the CRDs stay: the test
    cluster shares them)."""
    yield
    kubectl(
        "delete", "clusterrole,clusterrolebinding", "-l", f"app.kubernetes.io/instance={release}",
        "--ignore-not-found", "--wait=false",
    )  # fmt: skip


@pytest.mark.parametrize("namespaced", [False, True], ids=["clusterrole", "namespaced-role"])
def test_operator_with_only_the_charts_rbac_brings_the_examples_to_ready_and_deletes(
    helm: Helm,
    kube: KubeClients,
    kubectl: Kubectl,
    testenv: TestEnvironment,
    namespace: str,
    release: str,
    cluster_objects: None,
    fake_cloudflare: FakeCloudflare,
    health: HealthCheck,
    tmp_path: Path,
    namespaced: bool,
) -> None:
    # Cloudflare mode alone: what local mode adds (Pods, Secret writes, the router's objects) is
    # proven by tests/e2e/local/test_router_in_cluster.py.
    values = {
        "watchNamespaces": [namespace],
        "rbac": {"namespaced": namespaced, "aggregateClusterRoles": False},
        "localMode": {"enabled": False},
    }
    documents = helm.template(release, namespace, values, "--skip-tests")
    install_without_deployment(kubectl, documents)
    (account,) = find(documents, "ServiceAccount")
    token = service_account_token(kube, namespace, account["metadata"]["name"])
    kubeconfig = token_kubeconfig(testenv.kubeconfig, token, tmp_path / "operator.kubeconfig")
    as_operator = Kubectl(binary=testenv.kubectl, kubeconfig=kubeconfig)

    # The operator is really confined to the chart's rules: the token is not an administrator's.
    def can_i(*args: str) -> str:
        return as_operator("auth", "can-i", *args, check=False).stdout.strip()

    assert can_i("get", "secrets", "-n", namespace) == "yes"
    assert can_i("list", "secrets", "-n", namespace) == "no"
    assert can_i("create", "pods", "-n", namespace) == "no"
    assert can_i("get", "secrets", "-n", "kube-system") == ("yes" if not namespaced else "no")

    operator = operator_process(
        testenv, namespace, tmp_path / "operator.log", resync=5, kubeconfig=kubeconfig
    )
    operator.start()
    try:
        resources = Resources(kubectl, namespace)
        resources.apply(
            example_manifests(
                fake_cloudflare.base_url, testenv.registry, testenv.base_image, fake_cloudflare.account_id
            )
        )
        for kind, name in (
            ("lunoracontainer", "web"),
            ("lunoracontainer", "transcoder"),
            ("lunoraapp", "demo"),
        ):
            resources.wait_condition(kind, name, timeout=120)
        # What Argo CD would show for them, with the chart's health check.
        for kind, name in (
            ("lunoracontainer", "web"),
            ("lunoracontainer", "transcoder"),
            ("lunoraapp", "demo"),
        ):
            assert health(resources.get(kind, name) or {})["status"] == "Healthy", name
        assert sorted(a["name"] for a in fake_cloudflare.applications()) == [
            "demo-transcodercontainer",
            "demo-webcontainer",
        ]
        # The operator created its peering object and keeps its record there.
        peering = wait_for(
            "the operator's record in its KopfPeering",
            lambda: (resources.get("kopfpeering", "lunora-operator") or {}).get("status"),
            timeout=30,
        )
        assert peering, "kopf records each process in the peering's status"
        # Transition Events were posted.
        events = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
        assert any(e.get("reportingComponent") == "lunora-operator" for e in events), events

        # A deletion: the finalizer deletes the application, the app re-renders its ConfigMap
        # (an update) without the container, and the finalizer goes.
        kubectl("delete", "lunoracontainer", "web", "-n", namespace, "--wait=false")
        wait_for(
            "web to be deleted",
            lambda: resources.get("lunoracontainer", "web") is None,
            timeout=60,
        )
        wait_for(
            "the application deleted on Cloudflare",
            lambda: [a["name"] for a in fake_cloudflare.applications()] == ["demo-transcodercontainer"],
            timeout=30,
        )
        wait_for(
            "the rendered config without WebContainer",
            lambda: "WebContainer" not in resources.config_map("demo-wrangler")["containers.ts"],
            timeout=30,
        )
        # An orphaned deletion: the container leaves the index without a finalizer pass, so the
        # app's render reads it past the watch cache (get) before carrying its entry as orphaned.
        kubectl("patch", "lunoracontainer", "transcoder", "-n", namespace, "--type=merge",
                "-p", '{"spec": {"deletionPolicy": "Orphan"}}')  # fmt: skip
        resources.wait_condition("lunoracontainer", "transcoder", timeout=60)
        kubectl("delete", "lunoracontainer", "transcoder", "-n", namespace, "--wait=false")
        wait_for(
            "the transcoder carried as orphaned",
            lambda: (
                [
                    o["resource"]
                    for o in json.loads(resources.config_map("demo-wrangler")["lunora-render.json"]).get(
                        "orphaned", []
                    )
                ]
                == ["transcoder"]
            ),
            timeout=60,
        )
        assert [a["name"] for a in fake_cloudflare.applications()] == ["demo-transcodercontainer"]
        operator.assert_alive()
    finally:
        operator.stop()
    logs = operator.logs()
    refused = [line for line in logs.splitlines() if REFUSED.search(TIMESTAMP.sub("", line))]
    assert not refused, "requests were refused:\n" + "\n".join(refused[:20])
