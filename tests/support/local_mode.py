"""Local mode against the real environment, shared by the e2e tests and the router benchmark:
the test instance image in the test registry, a local-mode app pulling it with a pull Secret, and
`lunora-operator router` running on the host as `make dev` runs it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from lunora_operator.images.push import push_image
from lunora_operator.testing.environment import TestEnvironment
from tests.support.apiserver import free_port
from tests.support.kube import KubeClients, Kubectl, install_lunora_crds
from tests.support.registry import TestRegistry

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES = REPO_ROOT / "tests" / "e2e" / "local" / "images"
APP = "dev"
PULL_SECRET = "test-registry"


def _digest(root: Path, extra: str) -> str:
    digest = hashlib.sha256(extra.encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
        digest.update(str(path.stat().st_mode & 0o111).encode())
    return digest.hexdigest()[:12]


def _build_wsecho(work: Path, binary: Path) -> None:
    build = work / "wsecho"
    build.mkdir(parents=True, exist_ok=True)
    shutil.copy(IMAGES / "wsecho" / "main.go", build / "main.go")
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "", "GOTOOLCHAIN": "local", "GOWORK": "off"}
    if not (build / "go.mod").exists():
        subprocess.run(
            ["go", "mod", "init", "lunora.local/wsecho"], cwd=build, env=env, check=True, capture_output=True
        )
    subprocess.run(["go", "build", "-trimpath", "-o", str(binary), "."], cwd=build, env=env, check=True)


def build_instance_image(docker_client: Any, registry: TestRegistry, base_image: str, work: Path) -> str:
    """busybox httpd with CGI scripts (whoami, env, a /ready that turns 200 after READY_AFTER
    seconds) and a WebSocket echo server, pushed to the test registry; its digest reference."""
    tag = _digest(IMAGES, base_image)
    repository = registry.repository("lunora-test/local-instance")
    context = work / "context"
    shutil.copytree(IMAGES / "instance", context, dirs_exist_ok=True)
    _build_wsecho(work, context / "wsecho")
    docker_client.images.build(
        path=str(context), tag=f"{repository}:{tag}", buildargs={"BASE": base_image}, rm=True
    )
    return push_image(docker_client.api, repository, tag, registry.auth).reference


def build_shellless_image(docker_client: Any, registry: TestRegistry, work: Path) -> str:
    """The WebSocket echo server alone on `scratch` (no shell, no other file), serving on 8080."""
    tag = _digest(IMAGES / "wsecho", "scratch")
    repository = registry.repository("lunora-test/shellless-instance")
    context = work / "context"
    context.mkdir(parents=True, exist_ok=True)
    _build_wsecho(work, context / "wsecho")
    (context / "Dockerfile").write_text(
        'FROM scratch\nCOPY wsecho /bin/wsecho\nENTRYPOINT ["/bin/wsecho", "8080"]\n'
    )
    docker_client.images.build(path=str(context), tag=f"{repository}:{tag}", rm=True)
    return push_image(docker_client.api, repository, tag, registry.auth).reference


def build_exec_helper_image(testenv: TestEnvironment) -> str:
    """hack/exec-helper-image.sh into the test registry; the pushed reference with its digest."""
    result = subprocess.run(
        [str(REPO_ROOT / "hack" / "exec-helper-image.sh"), f"{testenv.registry}/lunora-test/exec-helper"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "DOCKER_HOST": testenv.docker_host},
    )
    assert result.returncode == 0, f"hack/exec-helper-image.sh failed: {result.stderr}"
    return result.stdout.strip()


def create_local_app(kube: KubeClients, kubectl: Kubectl, testenv: TestEnvironment, namespace: str) -> str:
    """A local-mode LunoraApp whose instance Pods pull with a dockerconfigjson Secret.

    The cluster is shared: a session of another branch may have applied its own CRDs since, and
    the API server drops fields its CRD does not know even on reads, so this branch's go first."""
    install_lunora_crds(kubectl)
    auth = base64.b64encode(f"{testenv.registry_user}:{testenv.registry_password}".encode()).decode()
    config = {"auths": {testenv.registry: {"auth": auth}}}
    kube.core.create_namespaced_secret(
        namespace,
        {
            "metadata": {"name": PULL_SECRET},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
        },
    )
    kubectl.apply(
        yaml.safe_dump(
            {
                "apiVersion": "lunora.sh/v1alpha1",
                "kind": "LunoraApp",
                "metadata": {"name": APP},
                "spec": {
                    "workerName": APP,
                    "mode": "local",
                    "local": {"registry": testenv.registry, "pullSecret": PULL_SECRET},
                },
            }
        ),
        "-n",
        namespace,
    )
    return APP


def container_manifest(name: str, image: str, **spec: Any) -> str:
    spec.setdefault("defaultPort", 8080)
    return yaml.safe_dump(
        {
            "apiVersion": "lunora.sh/v1alpha1",
            "kind": "LunoraContainer",
            "metadata": {"name": name},
            "spec": {"app": APP, "image": {"registry": image}, **spec},
        }
    )


class Router:
    """`lunora-operator router` as a process on the host."""

    def __init__(self, testenv: TestEnvironment, namespace: str, log: Path, *flags: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.command = [
            str(REPO_ROOT / ".venv" / "bin" / "lunora-operator"), "router", "--namespace", namespace, "--app", APP,
            "--listen", f"127.0.0.1:{self.port}", "--kubeconfig", str(testenv.kubeconfig), *flags,
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def start(self) -> Router:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.http.get("/_api/healthz").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the router did not come up:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        self.http.close()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)


def instance_pods(kube: KubeClients, namespace: str, container: str | None = None) -> list[dict[str, Any]]:
    selector = "lunora.sh/role=instance" + (f",lunora.sh/container={container}" if container else "")
    pods = kube.core.list_namespaced_pod(namespace, label_selector=selector, _preload_content=False)
    return list(json.loads(pods.data)["items"])


def live_pods(kube: KubeClients, namespace: str, container: str | None = None) -> list[str]:
    return sorted(
        p["metadata"]["name"]
        for p in instance_pods(kube, namespace, container)
        if not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") in ("Pending", "Running")
    )
