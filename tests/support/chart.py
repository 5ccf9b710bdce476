"""The Helm chart (charts/lunora-operator) through the pinned helm binary, and the pieces a test
needs to act as the chart's ServiceAccount: a token from the TokenRequest API and a kubeconfig."""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from tests.support.kube import KubeClients, Kubectl, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "lunora-operator"
SYNC_SCRIPT = REPO_ROOT / "charts" / "sync.py"
MANIFESTS = REPO_ROOT / "manifests"


@dataclass(frozen=True)
class Helm:
    """The pinned helm, with its cache, config and data directories (and $HOME, where its
    Kubernetes client caches discovery) under `home`, a temporary directory: nothing reads or
    writes the user's Helm or kubectl state."""

    binary: Path
    home: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
            "HOME": str(self.home),
            "PATH": "/usr/bin:/bin",
        }

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def template(
        self, release: str, namespace: str, values: dict[str, Any] | None = None, *extra: str
    ) -> list[dict[str, Any]]:
        """The objects `helm template` renders with `values` (given as a values file)."""
        return parse(self.template_text(release, namespace, values, *extra))

    def template_text(
        self, release: str, namespace: str, values: dict[str, Any] | None = None, *extra: str
    ) -> str:
        return self(
            "template",
            release,
            str(CHART),
            "--namespace",
            namespace,
            "--values",
            str(self.values_file(values)),
            *extra,
        ).stdout

    def values_file(self, values: dict[str, Any] | None) -> Path:
        path = self.home / f"values-{uuid.uuid4().hex[:8]}.yaml"
        path.write_text(yaml.safe_dump(values or {}))
        return path


def parse(text: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(text) if document]


def dump(documents: list[dict[str, Any]]) -> str:
    return "---\n".join(yaml.safe_dump(document) for document in documents)


def find(documents: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def install_without_deployment(kubectl: Kubectl, documents: list[dict[str, Any]]) -> None:
    """The chart's objects but its Deployment (the operator then runs on the host with the
    chart's ServiceAccount token): CRDs, ServiceAccount, RBAC."""
    objects = [d for d in documents if d["kind"] != "Deployment"]
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=dump(objects))
    for crd in find(objects, "CustomResourceDefinition"):
        kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd['metadata']['name']}")
    wait_for_bindings(kubectl, objects)


def wait_for_bindings(kubectl: Kubectl, objects: list[dict[str, Any]]) -> None:
    """Until the API server's authorizer has every binding among `objects`: it reads Roles and
    bindings through informers, so a binding just created may not hold for the next request
    (the operator's first calls would be refused). Checked with the first rule of each bound role."""
    for binding in [*find(objects, "RoleBinding"), *find(objects, "ClusterRoleBinding")]:
        reference = binding["roleRef"]
        (role,) = find(objects, reference["kind"], reference["name"])
        rule = role["rules"][0]
        group = rule["apiGroups"][0]
        resource, _, subresource = rule["resources"][0].partition("/")
        where = ["-n", binding["metadata"]["namespace"]] if binding["kind"] == "RoleBinding" else ["-A"]
        extra = [f"--subresource={subresource}"] if subresource else []
        for subject in binding["subjects"]:
            user = f"system:serviceaccount:{subject['namespace']}:{subject['name']}"
            question = [rule["verbs"][0], f"{resource}.{group}" if group else resource, *where, *extra]

            def granted(question: list[str] = question, user: str = user) -> bool:
                answer = kubectl("auth", "can-i", *question, f"--as={user}", check=False)
                return answer.stdout.strip() == "yes"

            wait_until(granted, f"{binding['kind']} {binding['metadata']['name']} to take effect", timeout=30)


def service_account_token(kube: KubeClients, namespace: str, name: str, seconds: int = 3600) -> str:
    """A bound token for the ServiceAccount from the TokenRequest API (what the kubelet mounts
    into the operator's Pod)."""
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
    )
    answer = kube.core.create_namespaced_service_account_token(name, namespace, request)
    assert answer.status is not None, "the TokenRequest was answered without a token"
    return str(answer.status.token)


def token_kubeconfig(admin_kubeconfig: Path, token: str, path: Path) -> Path:
    """A kubeconfig for the admin kubeconfig's API server and CA that authenticates with `token`."""
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    cluster = admin["clusters"][0]
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [cluster],
                "users": [{"name": "operator", "user": {"token": token}}],
                "contexts": [
                    {"name": "operator", "context": {"cluster": cluster["name"], "user": "operator"}}
                ],
                "current-context": "operator",
            }
        )
    )
    path.chmod(0o600)
    return path
