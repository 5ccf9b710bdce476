"""Cost of the running test environment: memory of each process and how fast the node runs Pods.

    .venv/bin/python -m bench.testenv [--pods N]

Prints the resident memory of every process `make testenv-up` started (from its pid files)
and of the node's containerd shims, then the time from creating N busybox Pods to all of
them Ready, and from deleting them to all gone. Needs a running environment.
"""

from __future__ import annotations

import argparse
import subprocess
import time
import uuid
from pathlib import Path

from kubernetes import client
from tests.support.kube import KubeClients, wait_until
from tests.support.testenv import env_file

from lunora_operator.testing.environment import TestEnvironment

PID_FILES = {
    "kube-apiserver": "apiserver/kube-apiserver.pid",
    "etcd": "apiserver/etcd.pid",
    "kube-controller-manager": "controllers/kube-controller-manager.pid",
    "kube-scheduler": "controllers/kube-scheduler.pid",
    "kubelet": "kube-node/kubelet.pid",
    "containerd (node)": "kube-node/containerd.pid",
    "docker-registry": "registry/registry.pid",
}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def print_memory(testenv_dir: Path, containerd_socket: Path) -> None:
    print("resident memory (MiB)")
    for name, relative in PID_FILES.items():
        pid_file = testenv_dir / relative
        if pid_file.is_file():
            print(f"  {name:30} {rss_mib(int(pid_file.read_text())):7.1f}")
    shims = subprocess.run(
        ["pgrep", "-f", "--", f"-address {containerd_socket}"], capture_output=True, text=True
    )
    for pid in shims.stdout.split():
        print(f"  {'containerd shim (one per Pod)':30} {rss_mib(int(pid)):7.1f}")


def time_pods(kube: KubeClients, testenv: TestEnvironment, count: int) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    kube.create_namespace(namespace)
    kube.wait_for_service_account(namespace, "default")
    names = [f"p{i}" for i in range(count)]
    try:
        started = time.monotonic()
        for name in names:
            spec = {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "main", "image": testenv.base_image, "command": ["sleep", "3600"]}],
            }
            kube.core.create_namespaced_pod(namespace, {"metadata": {"name": name}, "spec": spec})

        def all_ready() -> bool:
            pods = kube.core.list_namespaced_pod(namespace).items
            return len(pods) == count and all(
                any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or []) for p in pods
            )

        wait_until(all_ready, f"{count} Pods Ready", timeout=300)
        ready = time.monotonic() - started
        print_memory(env_file().parent, testenv.containerd_socket)
        started = time.monotonic()
        kube.core.delete_collection_namespaced_pod(namespace, body=client.V1DeleteOptions())
        wait_until(lambda: not kube.core.list_namespaced_pod(namespace).items, "Pods deleted", timeout=300)
        deleted = time.monotonic() - started
        print(f"{count} Pods: create → all Ready {ready:.2f} s ({ready / count:.2f} s each)")
        print(f"{count} Pods: delete → all gone {deleted:.2f} s")
    finally:
        kube.delete_namespace(namespace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=5)
    args = parser.parse_args()
    testenv = TestEnvironment.load(env_file=env_file())
    time_pods(KubeClients.from_kubeconfig(testenv.kubeconfig), testenv, args.pods)


if __name__ == "__main__":
    main()
