"""How tests reach the running test environment (hack/testenv-up.sh)."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ENV_PREFIX = "LUNORA_TEST_"
_FIELDS = {
    "kubeconfig": "KUBECONFIG",
    "kubectl": "KUBECTL",
    "helm": "HELM",
    "node_tools": "NODE_TOOLS",
    "docker_host": "DOCKER_HOST",
    "base_image": "BASE_IMAGE",
    "registry": "REGISTRY",
    "registry_user": "REGISTRY_USER",
    "registry_password": "REGISTRY_PASSWORD",
    "kube_node_name": "KUBE_NODE_NAME",
    "kube_node_ip": "KUBE_NODE_IP",
    "containerd_socket": "CONTAINERD_SOCKET",
    "load_image_script": "LOAD_IMAGE",
}


class TestEnvironmentMissing(RuntimeError):
    """The test environment is not running or its settings cannot be found."""

    __test__ = False


def parse_env_file(text: str) -> dict[str, str]:
    """Reads the `export NAME=value` lines hack/testenv-up.sh writes."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, value = words[1].split("=", 1)
            values[name] = value
    return values


@dataclass(frozen=True)
class TestEnvironment:
    """Addresses and credentials of the test control plane, node, Docker engine and registry."""

    __test__ = False  # not a pytest test class

    kubeconfig: Path
    kubectl: Path
    helm: Path
    node_tools: Path
    """Directory whose node_modules holds the pinned wrangler, typescript and Cloudflare types."""
    docker_host: str
    base_image: str
    registry: str
    registry_user: str
    registry_password: str = field(repr=False)
    kube_node_name: str
    """The single node (kubelet) that runs every Pod."""
    kube_node_ip: str
    """The node's InternalIP; also the Pod network's gateway, reachable from the host."""
    containerd_socket: Path
    """The node's own containerd (images live in its `k8s.io` namespace)."""
    load_image_script: Path
    """hack/load-image.sh: copies images from the Docker engine into the node's containerd."""

    @classmethod
    def load(cls, environ: dict[str, str] | None = None, env_file: Path | None = None) -> TestEnvironment:
        """Settings from LUNORA_TEST_* variables, falling back to `env_file` (the file
        testenv-up wrote; `hack/testenv-dir.sh` prints its directory)."""
        environ = dict(os.environ if environ is None else environ)
        from_file = parse_env_file(env_file.read_text()) if env_file and env_file.is_file() else {}
        values: dict[str, str] = {}
        missing: list[str] = []
        for attr, suffix in _FIELDS.items():
            name = ENV_PREFIX + suffix
            value = environ.get(name) or from_file.get(name)
            if value:
                values[attr] = value
            else:
                missing.append(name)
        if missing:
            source = f"{env_file} does not provide them" if env_file else "no env file was given"
            raise TestEnvironmentMissing(
                f"test environment settings {', '.join(missing)} are not set and {source}; "
                "start the environment with `make testenv-up`"
            )
        return cls(
            kubeconfig=Path(values["kubeconfig"]),
            kubectl=Path(values["kubectl"]),
            helm=Path(values["helm"]),
            node_tools=Path(values["node_tools"]),
            docker_host=values["docker_host"],
            base_image=values["base_image"],
            registry=values["registry"],
            registry_user=values["registry_user"],
            registry_password=values["registry_password"],
            kube_node_name=values["kube_node_name"],
            kube_node_ip=values["kube_node_ip"],
            containerd_socket=Path(values["containerd_socket"]),
            load_image_script=Path(values["load_image_script"]),
        )

    def load_image(self, *images: str) -> None:
        """Makes local Docker images runnable on the node without a registry, like
        `kind load docker-image`; Pods then use them with imagePullPolicy IfNotPresent or Never."""
        result = subprocess.run(
            [str(self.load_image_script), *images],
            env={
                **os.environ,
                "DOCKER_HOST": self.docker_host,
                "CONTAINERD_ADDRESS": str(self.containerd_socket),
            },
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"loading {', '.join(images)} into the node failed: {result.stderr.strip()}")
