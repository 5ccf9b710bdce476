"""The operator as users run it: its image built from the repository's Dockerfile (on the
Debian-made base), its chart pushed to the test registry as an OCI artifact and installed from
there into a namespace enforcing the restricted Pod Security Standard, its Pods on the test node.

What the test cluster lacks is served on the node's bridge address (hack/bridge-forward-up.sh):
the API server (KUBERNETES_SERVICE_HOST/PORT), the Docker engine over TCP; the fake Cloudflare
is served there over TLS by a socat this module starts, with the cluster's CA, which every
namespace holds in kube-root-ca.crt (SSL_CERT_FILE in the Pod), since the LunoraApp's
`apiBaseUrl` must be https:// anywhere but on the loopback."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client.exceptions import ApiException

from lunora_operator.testing.environment import TestEnvironment, parse_env_file
from tests.support.chart import Helm
from tests.support.kube import KubeClients, wait_until
from tests.support.testenv import env_file

REPO_ROOT = Path(__file__).resolve().parents[2]
HACK = REPO_ROOT / "hack"
# The main commit before the operator had an image: the upgrade starts from its chart and code.
BASELINE_COMMIT = "b301899"
IMAGE_REPOSITORY = "lunora-operator"
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


def bridge_settings(testenv: TestEnvironment) -> tuple[str, str]:
    """(API server port, Docker engine URL) as Pods reach them on the node's bridge address;
    an env file written before these were recorded gets hack/lib.sh's defaults."""
    settings = parse_env_file(env_file().read_text())
    server = yaml.safe_load(testenv.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    port = settings.get("LUNORA_TEST_APISERVER_PORT") or server.rsplit(":", 1)[1]
    docker = settings.get("LUNORA_TEST_DOCKER_TCP") or f"tcp://{testenv.kube_node_ip}:12375"
    return port, docker


def content_tag() -> str:
    """A tag from what the image is built of, so unchanged sources reuse the pushed image."""
    digest = hashlib.sha256()
    paths = [REPO_ROOT / name for name in ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md")]
    paths += sorted(
        p for p in (REPO_ROOT / "operator").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    for path in paths:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"t-{digest.hexdigest()[:12]}"


@dataclass
class BuiltImage:
    repository: str
    tag: str
    reference: str
    """repository:tag@digest as pushed."""
    seconds: float
    log: str


def build_image(
    testenv: TestEnvironment, tag: str, source: Path | None = None, revision: str | None = None
) -> BuiltImage:
    repository = f"{testenv.registry}/{IMAGE_REPOSITORY}"
    command = [str(HACK / "image.sh")]
    if source is not None:
        command += ["--source", str(source)]
    if revision is not None:
        command += ["--revision", revision]
    started = time.monotonic()
    result = subprocess.run(
        [*command, f"{repository}:{tag}"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env={**os.environ, "DOCKER_HOST": testenv.docker_host},
    )
    assert result.returncode == 0, f"hack/image.sh failed: {result.stderr}"
    return BuiltImage(repository, tag, result.stdout.strip(), time.monotonic() - started, result.stderr)


def baseline_tree(directory: Path) -> Path:
    """The baseline commit's files (`git archive`), as a clean clone has them."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", BASELINE_COMMIT],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True, timeout=120)
    return directory


def push_chart(chart: Path, version: str) -> tuple[str, str]:
    result = subprocess.run(
        [str(HACK / "chart-push.sh"), "--chart", str(chart), "--version", version],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"hack/chart-push.sh failed: {result.stderr}"
    reference, pushed_version = result.stdout.split()
    return reference, pushed_version


def registry_login(helm: Helm, testenv: TestEnvironment) -> None:
    result = subprocess.run(
        [
            str(helm.binary),
            "registry",
            "login",
            testenv.registry,
            "--plain-http",
            "--username",
            testenv.registry_user,
            "--password-stdin",
        ],
        input=testenv.registry_password,
        env=helm.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"helm registry login failed: {result.stderr}"


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class TlsForward:
    """socat serving https://<node IP>:<port> (the API server's certificate, which names the
    node's address, signed by the cluster's CA) in front of a plain HTTP server on 127.0.0.1."""

    node_ip: str
    target_port: int
    pki_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def __enter__(self) -> TlsForward:
        self.port = free_port(self.node_ip)
        listen = (
            f"OPENSSL-LISTEN:{self.port},bind={self.node_ip},reuseaddr,fork,"
            f"cert={self.pki_dir / 'serving.crt'},key={self.pki_dir / 'serving.key'},verify=0"
        )
        self.process = subprocess.Popen(
            ["socat", listen, f"TCP:127.0.0.1:{self.target_port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex((self.node_ip, self.port)) == 0

        wait_until(answers, f"socat on {self.node_ip}:{self.port}", timeout=10)
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


def operator_pods(kube: KubeClients, namespace: str) -> list[Any]:
    return [
        pod
        for pod in kube.core.list_namespaced_pod(
            namespace, label_selector="app.kubernetes.io/name=lunora-operator"
        ).items
        if pod.metadata.deletion_timestamp is None
    ]


def lease_holder(kube: KubeClients, namespace: str, peering: str) -> str | None:
    """The process (Pod name) that holds the peering's write lease and is alive."""
    from lunora_operator.peering import describe_peers

    try:
        body = kube.custom.get_namespaced_custom_object("kopf.dev", "v1", namespace, "kopfpeerings", peering)
    except ApiException:
        return None
    holders = [peer.identity for peer in describe_peers(body) if peer.alive and peer.holds_lease]
    return holders[0] if len(holders) == 1 else None


def container_pid(testenv: TestEnvironment, pod: Any) -> int:
    """The host PID of the operator container's process (its PID 1), from the node's containerd."""
    statuses = [s for s in (pod.status.container_statuses or []) if s.name == "operator"]
    assert statuses, f"pod {pod.metadata.name} has no operator container"
    assert statuses[0].container_id, f"pod {pod.metadata.name} has no running operator container"
    container_id = statuses[0].container_id.split("://", 1)[1]
    tasks = subprocess.run(
        ["ctr", "--address", str(testenv.containerd_socket), "--namespace", "k8s.io", "tasks", "ls"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    for line in tasks.splitlines():
        fields = line.split()
        if fields and fields[0] == container_id:
            return int(fields[1])
    raise AssertionError(f"no containerd task {container_id} for pod {pod.metadata.name}")


def signal_container(testenv: TestEnvironment, pod: Any, number: signal.Signals) -> None:
    os.kill(container_pid(testenv, pod), number)


def restart_count(kube: KubeClients, namespace: str, name: str) -> int:
    pod = kube.core.read_namespaced_pod(name, namespace)
    return sum(s.restart_count for s in (pod.status.container_statuses or []))
