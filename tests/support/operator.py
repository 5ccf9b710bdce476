"""The operator as users run it — `lunora-operator run` in its own process — against the test
API server, the Docker engine and registry, and a FakeCloudflare, plus waits on what it writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.environment import TestEnvironment
from tests.support.kube import Kubectl

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
OPERATOR = REPO_ROOT / ".venv" / "bin" / "lunora-operator"
STARTED_LOGS: list[Path] = []
"""The log of every operator process started in this session (the leak scan reads them)."""


@dataclass
class OperatorProcess:
    """One `lunora-operator run` process; its log goes to `log_path`."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        STARTED_LOGS.append(self.log_path)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(OPERATOR), "run", *self.args], stdout=log, stderr=subprocess.STDOUT, env=self.env
        )
        log.close()
        return self

    def stop(self, timeout: float = 30) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)

    def kill(self) -> None:
        """SIGKILL: no cleanup, as when a node dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def assert_alive(self) -> None:
        assert self.process is not None
        assert self.process.poll() is None, (
            f"the operator exited ({self.process.returncode}):\n{self.logs()[-4000:]}"
        )


def operator_process(
    testenv: TestEnvironment,
    namespace: str,
    log_path: Path,
    *extra: str,
    resync: float = 30,
    kubeconfig: Path | None = None,
    docker_host: str | None = None,
) -> OperatorProcess:
    """`kubeconfig` and `docker_host` replace the test environment's (e.g. to reach a part
    through a proxy the test controls)."""
    env = {
        **os.environ,
        "DOCKER_HOST": docker_host or testenv.docker_host,
        "KUBECONFIG": str(kubeconfig or testenv.kubeconfig),
        "PYTHONUNBUFFERED": "1",
        # kopf's peering identity: kept across restarts of this process, as a Pod's name is kept
        # across restarts of its container (a new identity would wait out the old one's keep-alive).
        "POD_ID": f"{namespace}-{uuid.uuid4().hex[:8]}",
    }
    env.pop("DOCKER_CONFIG", None)
    args = ["--namespace", namespace, "--resync-interval", str(resync), *extra]
    return OperatorProcess(args=args, env=env, log_path=log_path)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 90, interval: float = 0.5) -> Any:
    """Polls `check` until it returns something truthy; fails with `what` and the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")


@dataclass(frozen=True)
class Resources:
    """kubectl on one namespace."""

    kubectl: Kubectl
    namespace: str

    def apply(self, manifest: str) -> None:
        self.kubectl.apply(manifest, "-n", self.namespace)

    def patch(self, kind: str, name: str, body: Mapping[str, Any]) -> None:
        """A merge patch, as `kubectl patch --type=merge`."""
        self.kubectl("patch", kind, name, "-n", self.namespace, "--type=merge", "-p", json.dumps(body))

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        result = self.kubectl("get", kind, name, "-n", self.namespace, "-o", "json", check=False)
        return json.loads(result.stdout) if result.returncode == 0 else None

    def condition(self, kind: str, name: str, condition_type: str) -> dict[str, Any] | None:
        found = self.get(kind, name) or {}
        conditions = (found.get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c.get("type") == condition_type), None)

    def wait_condition(
        self, kind: str, name: str, condition_type: str = "Ready", status: str = "True", timeout: float = 90
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            found = self.get(kind, name)
            if not found:
                return None
            # From the same read as the object returned: a second read could see a later status.
            conditions = (found.get("status") or {}).get("conditions") or []
            condition = next((c for c in conditions if c.get("type") == condition_type), None)
            current = (found.get("status") or {}).get("observedGeneration") == found["metadata"]["generation"]
            return found if condition and condition.get("status") == status and current else None

        try:
            return wait_for(f"{kind}/{name} {condition_type}={status}", check, timeout)  # type: ignore[no-any-return]
        except AssertionError as error:
            raise AssertionError(
                f"{error}\nstatus: {json.dumps((self.get(kind, name) or {}).get('status'), indent=1)}"
            ) from None

    def config_map(self, name: str) -> dict[str, str]:
        found = self.get("configmap", name)
        assert found is not None, f"ConfigMap {name} not found"
        return dict(found.get("data") or {})


def example_manifests(fake_base_url: str, registry: str, base_image: str, account_id: str) -> str:
    """examples/*.yaml with what differs per environment replaced: the API base URL, registry,
    base image and account id."""
    text = "\n---\n".join(path.read_text() for path in sorted(EXAMPLES.glob("*.yaml")))
    return (
        text.replace("http://127.0.0.1:18787/client/v4", fake_base_url)
        .replace("registry: 127.0.0.1:15000", f"registry: {registry}")
        .replace("lunora-test/busybox:example", base_image)
        .replace("0123456789abcdef0123456789abcdef", account_id)
    )


def demo_app_manifest(
    fake: FakeCloudflare, *, token_secret: str = "cf-token", registry: str | None = None, bundle: bool = True
) -> str:
    """The `demo` LunoraApp on `fake`, with (unless `bundle` is False) a Worker bundle that
    exports the classes of `web`, `job` and `api`."""
    pushed = f"\n    registry: {registry}" if registry else ""
    worker = (
        """
  worker:
    configMap: demo-worker
    mainModule: index.js
    compatibilityDate: "2025-09-01\""""
        if bundle
        else ""
    )
    return f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: demo-worker}}
data:
  index.js: |
    export class WebContainer {{}}
    export class JobContainer {{}}
    export class ApiContainer {{}}
    export default {{ fetch() {{ return new Response("ok"); }} }};
---
apiVersion: lunora.sh/v1alpha1
kind: LunoraApp
metadata: {{name: demo}}
spec:
  workerName: demo
  cloudflare:
    accountId: {fake.account_id}
    apiTokenSecretRef: {{name: {token_secret}, key: token}}
    apiBaseUrl: {fake.base_url}{pushed}{worker}
"""


def container_manifest(name: str, spec: Mapping[str, Any]) -> str:
    return json.dumps(
        {
            "apiVersion": "lunora.sh/v1alpha1",
            "kind": "LunoraContainer",
            "metadata": {"name": name},
            "spec": spec,
        }
    )
