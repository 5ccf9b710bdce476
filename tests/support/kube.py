"""Thin helpers over the pinned kubectl binary and the official kubernetes client."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

T = TypeVar("T")


def wait_until(check: Callable[[], T | None], what: str, timeout: float = 60, interval: float = 0.2) -> T:
    """Polls `check` until it returns something other than None or False; returns that.
    The failure names what was awaited and the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {value!r})")
        time.sleep(interval)


@dataclass(frozen=True)
class Kubectl:
    binary: Path
    kubeconfig: Path

    def __call__(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def apply(self, manifest: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self(*("apply", "-f", "-", *extra), stdin=manifest, check=check)


@dataclass(frozen=True)
class KubeClients:
    api: client.ApiClient

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path) -> KubeClients:
        configuration = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
        return cls(api=client.ApiClient(configuration))

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def rbac(self) -> client.RbacAuthorizationV1Api:
        return client.RbacAuthorizationV1Api(self.api)

    def create_namespace(self, name: str) -> None:
        self.core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"lunora.sh/test": "true"}))
        )

    def delete_namespace(self, name: str) -> None:
        try:
            self.core.delete_namespace(name)
        except ApiException as error:
            if error.status != 404:
                raise

    def wait_for_service_account(self, namespace: str, name: str, timeout: float = 30) -> None:
        def exists() -> bool:
            try:
                self.core.read_namespaced_service_account(name, namespace)
            except ApiException as error:
                if error.status != 404:
                    raise
                return False
            return True

        wait_until(exists, f"ServiceAccount {namespace}/{name}", timeout)


LUNORA_CRDS = Path(__file__).resolve().parents[2] / "crds"


def install_lunora_crds(kubectl: Kubectl) -> None:
    """Applies crds/ (server-side, taking over from earlier applies) and waits until served."""
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(LUNORA_CRDS))
    for plural in ("lunoracontainers", "lunoraapps"):
        kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{plural}.lunora.sh")
