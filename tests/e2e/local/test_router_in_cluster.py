"""A local-mode app's router run by the operator in the cluster, from the operator's own image:
the operator (on the host, with nothing but the chart's ServiceAccount token and the chart's
local-mode flags) creates the router's Deployment; its Pod, on the node, becomes Ready; a request
sent to the Pod the router's Service selects starts an instance Pod and is answered by it; an
`exec` through it runs in that Pod (the chart's exec helper image reaches the router); the app's
status gives the router's address and the container's status counts the instance. The router
Pod's egress proxy and the app's NetworkPolicy hold instances to Cloudflare's egress rules,
enforced by the test environment's NetworkPolicy enforcer; target hosts are a local server on
the node's bridge address, named by `*.test` names the proxy resolves (`--resolve`).

The image is built by hack/image.sh as the in-cluster tier builds it (about 40-55 s after a change
under operator/, about 1 s when nothing changed). The test cluster has no Service networking, so
the Service is followed to its Pod through its EndpointSlice, and the router Pod reaches the API
server on the node's bridge address (`--router-env`, the chart's `localMode.router.extraEnv`)."""

from __future__ import annotations

import base64
import http.server
import json
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from lunora_operator.client import SyncContainers
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
from tests.support.enforcer import nft_pod_ips
from tests.support.incluster import BuiltImage, bridge_settings, build_image, content_tag
from tests.support.kube import KubeClients, Kubectl, wait_until
from tests.support.local_mode import APP, PULL_SECRET, create_local_app, live_pods
from tests.support.operator import OperatorProcess, Resources, operator_process, wait_for

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry, pytest.mark.timeout(600)]
ROUTER = names.router_name(APP)
ALLOWED, OTHER = TEST_HOSTS = ("allowed.test", "other.test")


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
            # The test cluster has no DNS; the proxy resolves the test names to the node itself.
            "egress": {
                "dns": "none",
                "proxyArgs": [f"--resolve={host}={testenv.kube_node_ip}" for host in TEST_HOSTS],
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
    flags = [arg for arg in container["args"] if arg.startswith(("--router-", "--egress-"))]
    assert f"--router-image={operator_image.repository}:{operator_image.tag}" in flags
    assert f"--router-exec-helper-image={exec_helper_image}" in flags
    assert "--egress-dns=none" in flags
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


def said(answer: httpx.Response) -> str:
    """The router's answer with its reason (which Pod, which budget), for a failure message."""
    return f"{answer.text.strip()} ({answer.headers.get('x-lunora-router-detail')})"


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
    containers = deployment.spec.template.spec.containers
    assert [c.name for c in containers] == ["router", "egress-proxy"]
    assert {c.image for c in containers} == {f"{operator_image.repository}:{operator_image.tag}"}
    assert [s.name for s in deployment.spec.template.spec.image_pull_secrets] == [PULL_SECRET]
    (router_pod,) = kube.core.list_namespaced_pod(namespace, label_selector=names.router_selector(APP)).items
    assert all(status.ready for status in router_pod.status.container_statuses)

    address = wait_for(
        "a ready endpoint of the router's Service", lambda: endpoint_of(kubectl, namespace, ROUTER)
    )
    assert address == router_pod.status.pod_ip
    assert live_pods(kube, namespace, "web") == []

    with httpx.Client(base_url=f"http://{address}:8080", timeout=60) as http:
        answer = http.get("/web/e2e-1/cgi-bin/whoami")
        assert answer.status_code == 200, said(answer)
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


class EchoServer:
    """An HTTP server on the node's bridge address answering `hello from <Host><path>`; it records
    every path it served."""

    def __init__(self, host: str) -> None:
        paths = self.paths = list[str]()

        class Echo(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                body = f"hello from {self.headers['Host'].split(':')[0]}{self.path}\n".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Echo)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo_server(testenv: TestEnvironment) -> Iterator[EchoServer]:
    with EchoServer(testenv.kube_node_ip) as server:
        yield server


def test_instances_reach_out_only_through_their_apps_egress_proxy(
    chart_operator: OperatorProcess,
    resources: Resources,
    kube: KubeClients,
    kubectl: Kubectl,
    testenv: TestEnvironment,
    namespace: str,
    instance_image: str,
    echo_server: EchoServer,
) -> None:
    """The router Pod runs the app's egress proxy; an instance of a container with
    `enableInternet: false` and an allow list gets the allowed host through it and Cloudflare's
    520 for another; runtime `egress.allow` / `egress.deny` from the Python client, through the
    router to the proxy, change what the instance reaches at once (wget run by the client's exec); a connection that
    ignores the proxy is dropped by the app's NetworkPolicy (the test environment's enforcer);
    the proxy's decisions are counted in the container's `status.egress` (read by the operator
    from the router Pod); an interceptHttps instance has the app's CA certificate where Cloudflare puts it."""
    create_local_app(kube, kubectl, testenv, namespace)
    resources.apply(
        container_manifest("closed", instance_image, enableInternet=False, allowedHosts=[ALLOWED])
    )
    resources.apply(container_manifest("secure", instance_image, interceptHttps=True))
    resources.wait_condition("lunoraapp", APP, timeout=180)

    policy = client.NetworkingV1Api(kube.api).read_namespaced_network_policy(
        f"{APP}-instance-egress", namespace
    )
    assert policy.metadata.owner_references[0].kind == "LunoraApp"
    assert policy.spec.pod_selector.match_labels == {"lunora.sh/app": APP, "lunora.sh/role": "instance"}
    (to_proxy,) = policy.spec.egress  # no DNS: the chart's egress.dns is none here
    assert [(p.protocol, p.port) for p in to_proxy.ports] == [("TCP", 3128)]
    (router_pod,) = kube.core.list_namespaced_pod(namespace, label_selector=names.router_selector(APP)).items
    assert {s.name: s.ready for s in router_pod.status.container_statuses} == {
        "router": True,
        "egress-proxy": True,
    }
    router_ip = router_pod.status.pod_ip

    with httpx.Client(base_url=f"http://{router_ip}:8080", timeout=60) as http_client:
        started = http_client.get("/closed/e2e/cgi-bin/whoami")
        assert started.status_code == 200, said(started)
        (instance,) = live_pods(kube, namespace, "closed")
        pod = kube.core.read_namespaced_pod(instance, namespace)
        env = {e.name: e.value for e in pod.spec.containers[0].env}
        assert env["http_proxy"] == env["HTTPS_PROXY"] == f"http://{router_ip}:3128"
        wait_until(lambda: pod.status.pod_ip in nft_pod_ips(), "the enforcer to select the instance Pod")

        def wget(url: str, *flags: str, seconds: int = 10) -> subprocess.CompletedProcess[str]:
            return kubectl(
                "exec", "-n", namespace, instance, "--",
                "timeout", str(seconds), "wget", "-q", "-O", "-", *flags, url,
                check=False,
            )  # fmt: skip

        allowed = wget(f"http://{ALLOWED}:{echo_server.port}/through-the-proxy")
        assert (allowed.returncode, allowed.stdout) == (0, f"hello from {ALLOWED}/through-the-proxy\n"), (
            allowed
        )
        refused = wget(f"http://{OTHER}:{echo_server.port}/refused")
        assert refused.returncode != 0
        assert "520 Origin is disallowed" in refused.stderr, refused
        # The same server, not through the proxy: the NetworkPolicy drops the connection.
        direct = wget(f"http://{testenv.kube_node_ip}:{echo_server.port}/direct", "-Y", "off", seconds=5)
        assert direct.returncode != 0
        assert "hello" not in direct.stdout
        assert echo_server.paths == ["/through-the-proxy"]

        # Runtime changes, made with the Python client as a Worker's `ctx.containers` makes them,
        # go from the router to the proxy's control API (the router Pod's loopback); the client's
        # exec runs wget in the instance with its proxy variables.
        with SyncContainers(f"http://{router_ip}:8080") as containers:
            closed = containers["closed"].get("e2e")
            closed.egress.allow(OTHER)
            now_allowed = closed.exec(
                "wget", args=["-q", "-O", "-", f"http://{OTHER}:{echo_server.port}/run-time"]
            )
            assert (now_allowed.code, now_allowed.stdout) == (0, f"hello from {OTHER}/run-time\n"), (
                now_allowed
            )
            closed.egress.deny(ALLOWED)
            now_denied = closed.exec(
                "wget", args=["-q", "-O", "-", f"http://{ALLOWED}:{echo_server.port}/denied"]
            )
            assert now_denied.code != 0
            assert "520 Origin is disallowed" in now_denied.stderr, now_denied
            # The router's own API, through the proxy (allowed everything): the proxy refuses its Pod.
            closed.egress.set_denied([])
            closed.egress.set_allowed(["*"])
            sneaky = closed.exec("wget", args=["-q", "-O", "-", f"http://{router_ip}:8080/_api/healthz"])
            assert sneaky.code != 0
            assert "403" in sneaky.stderr, sneaky
        assert echo_server.paths == ["/through-the-proxy", "/run-time"]

        # The proxy's decisions reach the container's status: a pass asked for after them (the
        # echo of the request says it ran) reads them from the router Pod.
        requested = f"egress-{uuid.uuid4().hex[:8]}"
        resources.patch(
            "lunoracontainer", "closed",
            {"metadata": {"annotations": {"reconcile.lunora.sh/requestedAt": requested}}},
        )  # fmt: skip

        def after_the_request() -> dict[str, Any] | None:
            status = (resources.get("lunoracontainer", "closed") or {}).get("status") or {}
            return status if status.get("lastHandledReconcileAt") == requested else None

        status = wait_for("a pass of LunoraContainer closed after the decisions", after_the_request)
        # Counts are the rules' verdicts: the request to the router's API passed the rules ("*")
        # and was refused after them by the proxy's guard (403), so it counts as allowed.
        assert status["egress"] == {
            "allowed": 3,
            "denied": 2,
            "instances": 1,
            "recentlyDenied": [OTHER, ALLOWED],
        }, status

        started = http_client.get("/secure/e2e/cgi-bin/whoami")
        assert started.status_code == 200, said(started)
    (secure,) = live_pods(kube, namespace, "secure")
    mounted = kubectl("exec", "-n", namespace, secure, "--", "ls", "/etc/cloudflare/certs").stdout.split()
    assert mounted == ["cloudflare-containers-ca.crt"], "the certificate only, never the key"
    certificate = kubectl(
        "exec", "-n", namespace, secure, "--", "cat", "/etc/cloudflare/certs/cloudflare-containers-ca.crt"
    ).stdout
    ca_secret = kube.core.read_namespaced_secret(f"{APP}-egress-ca", namespace)
    assert certificate == base64.b64decode(ca_secret.data["tls.crt"]).decode()
    assert certificate.startswith("-----BEGIN CERTIFICATE-----")
    chart_operator.assert_alive()
