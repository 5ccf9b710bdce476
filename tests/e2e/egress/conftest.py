"""Real instance Pods on the test node behind a real `lunora-operator egress-proxy`, with the
NetworkPolicy the egress code builds enforced by kube-network-policies. Target hosts are local
test servers: `*.test` names the proxy resolves to 127.0.0.1 (never an outside address), and one
server on the node's bridge address for connections that ignore the proxy."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lunora_operator.local.egress.annotations import (
    APP_LABEL,
    CONTAINER_LABEL,
    INSTANCE_ROLE,
    ROLE_LABEL,
    rules_annotations,
)
from lunora_operator.local.egress.ca import CaKeyPair, LeafIssuer, generate_ca
from lunora_operator.local.egress.network_policy import EgressPolicy, Peer, instance_network_policy
from lunora_operator.local.egress.pod_spec import CA_PATH, ca_volume, ca_volume_mount, proxy_environment
from lunora_operator.testing.environment import TestEnvironment
from tests.support.enforcer import NETWORK_POLICIES_TABLE, nft_list, nft_pod_ips
from tests.support.kube import KubeClients, Kubectl, wait_until

APP = "demo"
CLIENT_SOURCE = Path(__file__).parent / "client" / "main.go"
HTTP_HOSTS = ("a.allowed.test", "b.allowed.test", "other.test", "denied.test")
HTTPS_HOSTS = ("secure.allowed.test", "secure.denied.test")
UPSTREAM_CA_MOUNT = "/etc/upstream-ca"


@dataclass(frozen=True)
class TestServers:
    http_port: int
    https_port: int
    bridge_port: int
    upstream_ca: CaKeyPair
    upstream_ca_file: Path


def _echo() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=f"hello from {request.host.split(':')[0]}{request.path_qs}\n")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@pytest.fixture(scope="session")
def test_servers(testenv: TestEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestServers]:
    """HTTP and HTTPS echo servers on 127.0.0.1 and one HTTP echo server on the node's bridge
    address, served by a loop in a thread for the whole session."""
    upstream_ca = generate_ca("egress e2e upstream CA")
    ca_file = tmp_path_factory.mktemp("upstream-ca") / "ca.pem"
    ca_file.write_bytes(upstream_ca.cert_pem)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="egress-test-servers", daemon=True)
    thread.start()
    issuer = LeafIssuer(upstream_ca)
    tls = issuer.context(HTTPS_HOSTS[0])  # its SNI callback answers for the other names

    async def start(host: str, tls_context: Any = None) -> tuple[web.AppRunner, int]:
        runner = web.AppRunner(_echo(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, 0, ssl_context=tls_context)
        await site.start()
        return runner, runner.addresses[0][1]

    def run(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(30)

    http, http_port = run(start("127.0.0.1"))
    https, https_port = run(start("127.0.0.1", tls))
    bridge, bridge_port = run(start(testenv.kube_node_ip))
    try:
        yield TestServers(http_port, https_port, bridge_port, upstream_ca, ca_file)
    finally:
        for runner in (http, https, bridge):
            run(runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture(scope="session")
def client_image(testenv: TestEnvironment, docker_client: Any) -> str:
    """A busybox image with a small Go HTTP client that honours the proxy variables and CONNECT
    (busybox wget does neither for HTTPS), built from tests/e2e/egress/client and loaded into the
    node."""
    source = CLIENT_SOURCE.read_bytes()
    tag = f"lunora-test/egress-client:{hashlib.sha256(source + testenv.base_image.encode()).hexdigest()[:12]}"
    if not docker_client.images.list(name=tag):
        with tempfile.TemporaryDirectory() as work:
            shutil.copy(CLIENT_SOURCE, Path(work) / "main.go")
            env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": ""}
            subprocess.run(
                ["go", "mod", "init", "lunora.local/egress-client"],
                cwd=work,
                env=env,
                check=True,
                capture_output=True,
            )
            subprocess.run(
                ["go", "build", "-trimpath", "-o", "egress-client", "."],
                cwd=work,
                env=env,
                check=True,
                capture_output=True,
            )
            context = io.BytesIO()
            with tarfile.open(fileobj=context, mode="w") as tar:
                tar.add(Path(work) / "egress-client", arcname="egress-client")
                dockerfile = f"FROM {testenv.base_image}\nCOPY egress-client /bin/egress-client\n".encode()
                info = tarfile.TarInfo("Dockerfile")
                info.size = len(dockerfile)
                tar.addfile(info, io.BytesIO(dockerfile))
            context.seek(0)
            docker_client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
    testenv.load_image(tag)
    return tag


PROXY_STARTED = re.compile(r"egress proxy for \S+ on [\d.]+:(\d+), control API on (http://[\d.]+:\d+)")


@dataclass
class EgressProxyProcess:
    """A running `lunora-operator egress-proxy`; `restart` replaces it by a new process on the
    same proxy port (the address instance Pods were given), as a restarted proxy container is."""

    command: list[str]
    namespace: str
    node_ip: str
    log: Path
    process: subprocess.Popen[str] | None = None
    proxy_port: int = 0
    control_url: str = ""

    @property
    def proxy_url(self) -> str:
        return f"http://{self.node_ip}:{self.proxy_port}"

    def start(self) -> None:
        with self.log.open("w") as output:
            process = subprocess.Popen(
                [*self.command, "--listen", f"{self.node_ip}:{self.proxy_port}"],
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.process = process

        def ready() -> re.Match[str] | None:
            if process.poll() is not None:
                raise AssertionError(f"egress-proxy exited: {self.log.read_text()}")
            return PROXY_STARTED.search(self.log.read_text())

        match = wait_until(ready, "egress-proxy to listen", timeout=60)
        self.proxy_port, self.control_url = int(match.group(1)), match.group(2)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def egress_proxy(
    testenv: TestEnvironment, test_servers: TestServers, namespace: str, tmp_path: Path
) -> Iterator[EgressProxyProcess]:
    """`lunora-operator egress-proxy` for the app `demo` in the test's namespace, listening on the
    node's bridge address, its control API on 127.0.0.1 (out of the Pods' reach)."""
    command = [
        sys.executable,
        "-m",
        "lunora_operator.cli",
        "egress-proxy",
        "--namespace",
        namespace,
        "--app",
        APP,
        "--control",
        "127.0.0.1:0",
        "--kubeconfig",
        str(testenv.kubeconfig),
        "--upstream-ca",
        str(test_servers.upstream_ca_file),
        *(f"--resolve={host}=127.0.0.1" for host in HTTP_HOSTS + HTTPS_HOSTS),
    ]
    proxy = EgressProxyProcess(command, namespace, testenv.kube_node_ip, tmp_path / "egress-proxy.log")
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@dataclass(frozen=True)
class Rules:
    enable_internet: bool | None = None
    allowed_hosts: list[str] | None = None
    denied_hosts: list[str] | None = None
    intercept_https: bool | None = None


def instance_pod(name: str, image: str, proxy: EgressProxyProcess, rules: Rules) -> dict[str, Any]:
    """An instance Pod as the router will create it: the app's labels, the declared rules as
    annotations, the proxy variables, and with interceptHttps the app's CA where Cloudflare puts
    it. It also mounts the test servers' CA, for HTTPS the proxy does not intercept."""
    volumes = [{"name": "upstream-ca", "configMap": {"name": "upstream-ca"}}]
    mounts = [{"name": "upstream-ca", "mountPath": UPSTREAM_CA_MOUNT, "readOnly": True}]
    if rules.intercept_https:
        volumes.append(ca_volume(APP))
        mounts.append(ca_volume_mount())
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {
                APP_LABEL: APP,
                ROLE_LABEL: INSTANCE_ROLE,
                "lunora.sh/instance": name,
                CONTAINER_LABEL: "web",
                "lunora.sh/test": "true",
            },
            "annotations": rules_annotations(
                enable_internet=rules.enable_internet,
                allowed_hosts=rules.allowed_hosts,
                denied_hosts=rules.denied_hosts,
                intercept_https=rules.intercept_https,
            ),
        },
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "3600"],
                    "env": proxy_environment(proxy.proxy_url),
                    "volumeMounts": mounts,
                }
            ],
            "volumes": volumes,
        },
    }


@dataclass(frozen=True)
class EnforcerTable:
    """The kernel's handles of the enforcer's table: a handle is new whenever the object was
    (re-)created."""

    containers: dict[str, int]  # the table, its chains and sets, e.g. "chain input"
    rules: frozenset[int]


def enforcer_table() -> EnforcerTable:
    containers: dict[str, int] = {}
    rules: set[int] = set()
    for item in nft_list("table", "inet", NETWORK_POLICIES_TABLE):
        for kind in ("table", "chain", "set"):
            if kind in item:
                containers[f"{kind} {item[kind]['name']}"] = item[kind]["handle"]
        if "rule" in item:
            rules.add(item["rule"]["handle"])
    return EnforcerTable(containers, frozenset(rules))


@dataclass
class Instances:
    kube: KubeClients
    kubectl: Kubectl
    image: str
    proxy: EgressProxyProcess
    servers: TestServers
    policy_applied: bool = False

    @property
    def namespace(self) -> str:
        return self.proxy.namespace

    @property
    def node_ip(self) -> str:
        return self.proxy.node_ip

    def apply_policy(self) -> None:
        self.policy_applied = True
        policy = instance_network_policy(
            EgressPolicy(self.namespace, APP, Peer(ports=(self.proxy.proxy_port,), cidr=f"{self.node_ip}/32"))
        )
        client.NetworkingV1Api(self.kube.api).create_namespaced_network_policy(self.namespace, policy)

    def remove_policy(self) -> None:
        client.NetworkingV1Api(self.kube.api).delete_namespaced_network_policy(
            f"{APP}-instance-egress", self.namespace
        )

    def start(self, name: str, rules: Rules) -> client.V1Pod:
        self.kube.core.create_namespaced_pod(
            self.namespace, instance_pod(name, self.image, self.proxy, rules)
        )

        def ready() -> client.V1Pod | None:
            pod = self.kube.core.read_namespaced_pod(name, self.namespace)
            conditions = {c.type: c.status for c in pod.status.conditions or []}
            return pod if conditions.get("Ready") == "True" else None

        pod = wait_until(ready, f"Pod {name} Ready")
        if self.policy_applied:
            self.wait_enforced(pod)
        return pod

    def wait_enforced(self, pod: client.V1Pod) -> None:
        """Until the enforcer diverts the Pod's packets to its queue (it learns of Pods and
        policies from its own watch)."""
        wait_until(lambda: pod.status.pod_ip in nft_pod_ips(), f"the enforcer to divert {pod.status.pod_ip}")

    def delete(self, name: str) -> None:
        self.kube.core.delete_namespaced_pod(name, self.namespace, grace_period_seconds=0)

        def gone() -> bool:
            try:
                self.kube.core.read_namespaced_pod(name, self.namespace)
            except ApiException as error:
                return error.status == 404
            return False

        wait_until(gone, f"Pod {name} gone")

    def fetch(self, pod: str, url: str, *flags: str) -> str:
        """The client's output: "STATUS <code>\\n<body>" or "ERROR <reason>"."""
        cacerts = (
            f"{UPSTREAM_CA_MOUNT}/ca.crt,{CA_PATH}" if "-app-ca" in flags else f"{UPSTREAM_CA_MOUNT}/ca.crt"
        )
        args = [f for f in flags if f != "-app-ca"]
        result = self.kubectl(
            "exec",
            "-n",
            self.namespace,
            pod,
            "--",
            "egress-client",
            "-url",
            url,
            "-cacert",
            cacerts,
            *args,
            check=False,
        )
        return (result.stdout or result.stderr).strip()

    def http(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.servers.http_port}{path}"

    def https(self, host: str, path: str = "/") -> str:
        return f"https://{host}:{self.servers.https_port}{path}"


@pytest.fixture
def instances(
    kube: KubeClients,
    kubectl: Kubectl,
    client_image: str,
    egress_proxy: EgressProxyProcess,
    test_servers: TestServers,
) -> Instances:
    kube.core.create_namespaced_config_map(
        egress_proxy.namespace,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="upstream-ca"),
            data={"ca.crt": test_servers.upstream_ca.cert_pem.decode()},
        ),
    )
    return Instances(kube, kubectl, client_image, egress_proxy, test_servers)
