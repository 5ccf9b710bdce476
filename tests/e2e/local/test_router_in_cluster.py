"""A local-mode app's router run by the operator in the cluster, from the operator's own image:
the operator (on the host, with nothing but the chart's ServiceAccount token and the chart's
local-mode flags) creates the router's Deployment; its Pod, on the node, becomes Ready; a request
sent to the Pod the router's Service selects starts an instance Pod and is answered by it; an
`exec` through it runs in that Pod (the chart's exec helper image reaches the router); the app's
status gives the router's address and the container's status counts the instance.

The image is built by hack/image.sh as the in-cluster tier builds it (about 40-55 s after a change
under operator/, about 1 s when nothing changed). The test cluster has no Service networking, so
the Service is followed to its Pod through its EndpointSlice, and the router Pod reaches the API
server on the node's bridge address (`--router-env`, the chart's `localMode.router.extraEnv`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lunora_operator.local import names
from lunora_operator.testing.environment import TestEnvironment
from tests.e2e.local.conftest import container_manifest
from tests.support.chart import (
    Helm,
    find,
    install_without_deployment,
    service_account_token,
    token_kubeconfig,
)
from tests.support.incluster import BuiltImage, bridge_settings, build_image, content_tag
from tests.support.kube import KubeClients, Kubectl
from tests.support.local_mode import APP, PULL_SECRET, create_local_app, live_pods
from tests.support.operator import OperatorProcess, Resources, operator_process, wait_for

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry, pytest.mark.timeout(600)]
ROUTER = names.router_name(APP)


@pytest.fixture(scope="module")
def operator_image(testenv: TestEnvironment) -> BuiltImage:
    return build_image(testenv, content_tag())


@pytest.fixture
def release() -> str:
    return f"local-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def chart_operator(
    testenv: TestEnvironment,
    kube: KubeClients,
    kubectl: Kubectl,
    namespace: str,
    release: str,
    operator_image: BuiltImage,
    exec_helper_image: str,
    tmp_path: Path,
) -> Iterator[OperatorProcess]:
    """`lunora-operator run` with the chart's token and the flags the chart's Deployment passes
    for local mode (rendered by helm from the same values)."""
    apiserver_port, _ = bridge_settings(testenv)
    values = {
        "watchNamespaces": [namespace],
        "rbac": {"namespaced": True, "aggregateClusterRoles": False},
        "image": {"repository": operator_image.repository, "tag": operator_image.tag},
        "localMode": {
            "enabled": True,
            "router": {
                "extraEnv": [
                    {"name": "KUBERNETES_SERVICE_HOST", "value": testenv.kube_node_ip},
                    {"name": "KUBERNETES_SERVICE_PORT", "value": apiserver_port},
                ],
                "execHelperImage": exec_helper_image,
            },
        },
    }
    (tmp_path / "helm").mkdir()
    helm = Helm(binary=testenv.helm, home=tmp_path / "helm")
    documents = helm.template(release, namespace, values, "--skip-tests")
    install_without_deployment(kubectl, documents)
    (account,) = find(documents, "ServiceAccount")
    (deployment,) = find(documents, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    flags = [arg for arg in container["args"] if arg.startswith("--router-")]
    assert f"--router-image={operator_image.repository}:{operator_image.tag}" in flags
    assert f"--router-exec-helper-image={exec_helper_image}" in flags
    token = service_account_token(kube, namespace, account["metadata"]["name"])
    kubeconfig = token_kubeconfig(testenv.kubeconfig, token, tmp_path / "operator.kubeconfig")
    process = operator_process(
        testenv, namespace, tmp_path / "operator.log", *flags, resync=30, kubeconfig=kubeconfig
    ).start()
    yield process
    process.stop()
    kubectl(
        "delete", "clusterrole,clusterrolebinding", "-l", f"app.kubernetes.io/instance={release}",
        "--ignore-not-found", "--wait=false",
    )  # fmt: skip


def endpoint_of(kubectl: Kubectl, namespace: str, service: str) -> str | None:
    """The address of a ready endpoint of the Service (its EndpointSlice), or None."""
    slices = json.loads(
        kubectl(
            "get", "endpointslices", "-n", namespace, "-l", f"kubernetes.io/service-name={service}", "-o", "json"
        ).stdout
    )["items"]  # fmt: skip
    for endpoint_slice in slices:
        for endpoint in endpoint_slice.get("endpoints") or ():
            if (endpoint.get("conditions") or {}).get("ready"):
                return str(endpoint["addresses"][0])
    return None


def status(resources: Resources, kind: str, name: str) -> dict[str, Any]:
    return dict((resources.get(kind, name) or {}).get("status") or {})


def test_the_operator_runs_the_router_from_its_image_and_a_request_starts_an_instance(
    chart_operator: OperatorProcess,
    resources: Resources,
    kube: KubeClients,
    kubectl: Kubectl,
    testenv: TestEnvironment,
    namespace: str,
    instance_image: str,
    operator_image: BuiltImage,
) -> None:
    create_local_app(kube, kubectl, testenv, namespace)
    resources.apply(container_manifest("web", instance_image, maxInstances=2))

    app = resources.wait_condition("lunoraapp", APP, timeout=180)
    router = app["status"]["router"]
    assert router == {"name": ROUTER, "url": f"http://{ROUTER}.{namespace}.svc:8080"}
    ready = next(c for c in app["status"]["conditions"] if c["type"] == "RouterReady")
    assert (ready["status"], ready["reason"]) == ("True", "Available")

    deployment = kube.apps.read_namespaced_deployment(ROUTER, namespace)
    (pod_template,) = deployment.spec.template.spec.containers
    assert pod_template.image == f"{operator_image.repository}:{operator_image.tag}"
    assert [s.name for s in deployment.spec.template.spec.image_pull_secrets] == [PULL_SECRET]
    (router_pod,) = kube.core.list_namespaced_pod(namespace, label_selector=names.router_selector(APP)).items
    assert router_pod.status.container_statuses[0].ready

    address = wait_for(
        "a ready endpoint of the router's Service", lambda: endpoint_of(kubectl, namespace, ROUTER)
    )
    assert address == router_pod.status.pod_ip
    assert live_pods(kube, namespace, "web") == []

    with httpx.Client(base_url=f"http://{address}:8080", timeout=60) as http:
        answer = http.get("/web/e2e-1/cgi-bin/whoami")
        assert answer.status_code == 200, answer.text
        (instance,) = live_pods(kube, namespace, "web")
        assert answer.text.strip() == instance
        assert http.get("/web/e2e-1/cgi-bin/whoami").text.strip() == instance
        # exec through the router the operator made: its flag and its Role's pods/exec
        script = 'echo "$CALL"; pwd; hostname; echo err >&2; exit 3'
        body = {"command": "sh", "args": ["-c", script], "env": {"CALL": "from-exec"}, "cwd": "/www"}
        ran = http.post("/_api/containers/web/instances/e2e-1/exec", json=body)
        assert ran.status_code == 200, ran.text
        assert ran.json() == {"code": 3, "stdout": f"from-exec\n/www\n{instance}\n", "stderr": "err\n"}

    def counted() -> dict[str, Any] | None:
        instances = status(resources, "lunoracontainer", "web").get("instances") or {}
        return instances if instances.get("running") == 1 else None

    instances = wait_for("status.instances.running = 1", counted, timeout=60)
    assert instances["max"] == 2
    assert instances["selector"] == names.container_instance_selector(APP, "web")
    web = resources.wait_condition("lunoracontainer", "web", timeout=30)
    assert web["status"]["image"]["ref"] == instance_image
    chart_operator.assert_alive()
