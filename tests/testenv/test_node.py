"""The test environment is a real single-node cluster: the scheduler places Pods on the
node, the kubelet runs them in containerd with CNI networking and enforces their limits,
and the controller-manager drives Deployments, namespace deletion, garbage collection and
ServiceAccounts. Nothing here fakes a Pod status."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lunora_operator.testing.environment import TestEnvironment
from tests.support.kube import KubeClients, Kubectl, wait_until

TEST_LABEL = {"lunora.sh/test": "true"}
# busybox as PID 1 ignores SIGTERM, so every Pod here is killed after one second rather than 30.
GRACE_SECONDS = 1
SERVE_HOSTNAME = (
    'echo "hello from $(hostname)" > /tmp/index.html && echo serving && exec httpd -f -p 8080 -h /tmp'
)


def container(image: str, command: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": "main", "image": image, "command": command, **extra}


def pod(name: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": TEST_LABEL},
        "spec": {"terminationGracePeriodSeconds": GRACE_SECONDS, "containers": list(containers), **spec},
    }


def shell(image: str, script: str, **extra: Any) -> dict[str, Any]:
    return container(image, ["sh", "-c", script], **extra)


def read_pod(kube: KubeClients, namespace: str, name: str) -> client.V1Pod:
    return kube.core.read_namespaced_pod(name, namespace)


def wait_ready(kube: KubeClients, namespace: str, name: str) -> client.V1Pod:
    def ready() -> client.V1Pod | None:
        current = read_pod(kube, namespace, name)
        conditions = {c.type: c.status for c in current.status.conditions or []}
        return current if conditions.get("Ready") == "True" else None

    return wait_until(ready, f"Pod {namespace}/{name} Ready")


def wait_finished(kube: KubeClients, namespace: str, name: str, timeout: float = 60) -> str:
    def finished() -> str | None:
        phase: str = read_pod(kube, namespace, name).status.phase
        return phase if phase in ("Succeeded", "Failed") else None

    return wait_until(finished, f"Pod {namespace}/{name} to finish", timeout)


def gone(read: Any, *args: str) -> bool:
    try:
        read(*args)
    except ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def test_pod_without_node_name_runs_on_the_node_and_serves_the_host(
    kube: KubeClients, kubectl: Kubectl, testenv: TestEnvironment, namespace: str
) -> None:
    kube.core.create_namespaced_pod(namespace, pod("web", shell(testenv.base_image, SERVE_HOSTNAME)))

    running = wait_ready(kube, namespace, "web")

    assert running.spec.node_name == testenv.kube_node_name
    response = httpx.get(f"http://{running.status.pod_ip}:8080/", timeout=5, trust_env=False)
    assert response.text == "hello from web\n"
    assert kubectl("logs", "-n", namespace, "web").stdout == "serving\n"
    assert (
        kubectl("exec", "-n", namespace, "web", "--", "cat", "/tmp/index.html").stdout == "hello from web\n"
    )


def test_pods_reach_each_other_over_the_pod_network(
    kube: KubeClients, kubectl: Kubectl, testenv: TestEnvironment, namespace: str
) -> None:
    kube.core.create_namespaced_pod(namespace, pod("web", shell(testenv.base_image, SERVE_HOSTNAME)))
    server_ip = wait_ready(kube, namespace, "web").status.pod_ip
    # busybox wget's own -T timeout crashes this busybox build; `timeout` bounds it instead.
    fetch = f"timeout 10 wget -q -O- http://{server_ip}:8080/"
    kube.core.create_namespaced_pod(
        namespace, pod("client", shell(testenv.base_image, fetch), restartPolicy="Never")
    )

    assert wait_finished(kube, namespace, "client") == "Succeeded"
    assert kubectl("logs", "-n", namespace, "client").stdout == "hello from web\n"


def test_cpu_limit_becomes_the_container_cfs_quota(
    kube: KubeClients, kubectl: Kubectl, testenv: TestEnvironment, namespace: str
) -> None:
    limited = container(testenv.base_image, ["sleep", "3600"], resources={"limits": {"cpu": "200m"}})
    kube.core.create_namespaced_pod(namespace, pod("limited", limited))
    wait_ready(kube, namespace, "limited")

    # cgroup v1 (these machines) or v2.
    quota = kubectl(
        *("exec", "-n", namespace, "limited", "--", "sh", "-c"),
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max",
    ).stdout
    assert quota.split()[0] == "20000"


def test_memory_limit_oom_kills_the_container_and_the_restart_is_reported(
    kube: KubeClients, testenv: TestEnvironment, namespace: str
) -> None:
    def allocate(megabytes: int) -> dict[str, Any]:
        # dd allocates and fills one buffer of `bs` bytes.
        command = ["dd", "if=/dev/zero", "of=/dev/null", f"bs={megabytes}M", "count=1"]
        return container(testenv.base_image, command, resources={"limits": {"memory": "32Mi"}})

    kube.core.create_namespaced_pod(namespace, pod("under", allocate(8), restartPolicy="Never"))
    kube.core.create_namespaced_pod(namespace, pod("over", allocate(64), restartPolicy="Always"))

    assert wait_finished(kube, namespace, "under") == "Succeeded"

    def restarted_after_oom() -> client.V1ContainerStatus | None:
        statuses = read_pod(kube, namespace, "over").status.container_statuses or []
        status = statuses[0] if statuses else None
        return status if status and status.restart_count >= 1 and status.last_state.terminated else None

    status = wait_until(restarted_after_oom, "the over-limit container to be restarted")
    assert status.last_state.terminated.reason == "OOMKilled"
    assert status.last_state.terminated.exit_code == 137


def test_deployment_scales_from_zero_to_two_real_pods_and_back(
    kube: KubeClients, testenv: TestEnvironment, namespace: str
) -> None:
    labels = {"app": "scaled"}
    template = {
        "metadata": {"labels": labels},
        "spec": pod("", shell(testenv.base_image, SERVE_HOSTNAME))["spec"],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "scaled"},
        "spec": {"replicas": 0, "selector": {"matchLabels": labels}, "template": template},
    }
    kube.apps.create_namespaced_deployment(namespace, deployment)

    def pods() -> list[client.V1Pod]:
        items: list[client.V1Pod] = kube.core.list_namespaced_pod(
            namespace, label_selector="app=scaled"
        ).items
        return items

    def ready_replicas(count: int) -> bool:
        current = kube.apps.read_namespaced_deployment("scaled", namespace)
        return (current.status.ready_replicas or 0) == count and len(pods()) == count

    kube.apps.patch_namespaced_deployment_scale("scaled", namespace, {"spec": {"replicas": 2}})
    wait_until(lambda: ready_replicas(2), "2 ready replicas")
    running = pods()
    assert {p.status.phase for p in running} == {"Running"}
    assert {p.spec.node_name for p in running} == {testenv.kube_node_name}
    assert {p.metadata.owner_references[0].kind for p in running} == {"ReplicaSet"}

    kube.apps.patch_namespaced_deployment_scale("scaled", namespace, {"spec": {"replicas": 0}})
    wait_until(lambda: pods() == [], "the Pods of the scaled-down Deployment to be deleted")
    assert kube.apps.read_namespaced_deployment("scaled", namespace).status.replicas in (None, 0)


def test_namespace_with_a_running_pod_is_deleted_completely(
    kube: KubeClients, testenv: TestEnvironment
) -> None:
    name = f"t-{uuid.uuid4().hex[:10]}"
    kube.create_namespace(name)
    kube.wait_for_service_account(name, "default")
    kube.core.create_namespaced_config_map(name, {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    kube.core.create_namespaced_pod(name, pod("web", shell(testenv.base_image, SERVE_HOSTNAME)))
    wait_ready(kube, name, "web")

    kube.delete_namespace(name)

    wait_until(lambda: gone(kube.core.read_namespace, name), f"namespace {name} to be deleted")


def test_dependent_is_garbage_collected_after_its_owner(kube: KubeClients, namespace: str) -> None:
    owner = kube.core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    kube.core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "dependent", "ownerReferences": [reference]}}
    )
    kube.core.create_namespaced_config_map(namespace, {"metadata": {"name": "bystander"}})

    kube.core.delete_namespaced_config_map("owner", namespace)

    wait_until(
        lambda: gone(kube.core.read_namespaced_config_map, "dependent", namespace),
        "the dependent ConfigMap to be collected",
    )
    assert kube.core.read_namespaced_config_map("bystander", namespace).metadata.name == "bystander"


@pytest.fixture(scope="module")
def kubectl_image(docker_client, testenv: TestEnvironment, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The pinned kubectl on the base image, loaded into the node: an in-cluster API client."""
    binary = testenv.kubectl.read_bytes()
    tag = f"lunora-test/kubectl:{hashlib.sha256(binary).hexdigest()[:12]}"
    if not docker_client.images.list(name=tag):
        context: Path = tmp_path_factory.mktemp("kubectl-image")
        (context / "kubectl").write_bytes(binary)
        (context / "kubectl").chmod(0o755)
        (context / "Dockerfile").write_text(f"FROM {testenv.base_image}\nCOPY kubectl /bin/kubectl\n")
        docker_client.images.build(path=str(context), tag=tag, rm=True)
    testenv.load_image(tag)
    return tag


# No --request-timeout: kubectl ignores the in-cluster configuration once a connection flag is given.
WHOAMI = ["kubectl", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]


def test_host_network_pod_calls_the_api_server_with_its_default_service_account_token(
    kube: KubeClients, kubectl: Kubectl, kubectl_image: str, namespace: str
) -> None:
    # The API server listens on 127.0.0.1 only; a Pod on the host's network reaches it once
    # in-cluster clients are pointed there (the kubelet injects the unroutable Service IP).
    server = urlsplit(kube.api.configuration.host)
    env = [
        {"name": "KUBERNETES_SERVICE_HOST", "value": server.hostname},
        {"name": "KUBERNETES_SERVICE_PORT", "value": str(server.port)},
    ]
    whoami = container(kubectl_image, WHOAMI, env=env, imagePullPolicy="Never")
    kube.core.create_namespaced_pod(namespace, pod("whoami", whoami, hostNetwork=True, restartPolicy="Never"))

    assert wait_finished(kube, namespace, "whoami") == "Succeeded"
    assert kubectl("logs", "-n", namespace, "whoami").stdout == f"system:serviceaccount:{namespace}:default"


def test_pod_network_has_no_route_to_the_api_server(
    kube: KubeClients, kubectl: Kubectl, kubectl_image: str, namespace: str
) -> None:
    """The documented limit: without hostNetwork the kubernetes Service IP leads nowhere."""
    # -v=8 logs the request before it is sent; `timeout` ends the wait for an answer.
    whoami = container(kubectl_image, ["timeout", "5", *WHOAMI, "-v=8"], imagePullPolicy="Never")
    kube.core.create_namespaced_pod(namespace, pod("whoami", whoami, restartPolicy="Never"))

    assert wait_finished(kube, namespace, "whoami") == "Failed"
    log = kubectl("logs", "-n", namespace, "whoami").stdout
    assert "Using in-cluster configuration" in log
    assert 'url="https://10.96.0.1:443/apis/authentication.k8s.io/v1/selfsubjectreviews"' in log
    assert "Response" not in log
