"""The operator installed as users install it, in the test cluster: its image (built from the
repository's Dockerfile on the Debian-made base) and its chart pulled from the test registry,
Pods under the restricted Pod Security Standard, the examples reconciled against a fake
Cloudflare. One installation goes through its life, test by test, in file order: installed from
the baseline release, upgraded to this one with a change in flight, tested with `helm test`,
given a local-mode app (its router and egress proxy run from the operator's own image and
answer), its active Pod killed, paused past its lease, deleted, then uninstalled and installed
again. Each step checks what reached Cloudflare against the fake's records."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client

from lunora_operator.local import names
from lunora_operator.testing.environment import TestEnvironment
from lunora_operator.testing.fake_cloudflare import FakeCloudflare, RegistryConfig
from tests.support.chart import Helm
from tests.support.incluster import (
    BASELINE_COMMIT,
    RESTRICTED,
    BuiltImage,
    TlsForward,
    baseline_tree,
    bridge_settings,
    build_image,
    content_tag,
    lease_holder,
    operator_pods,
    peering_report,
    push_chart,
    registry_login,
    restart_count,
    signal_container,
)
from tests.support.kube import KubeClients, Kubectl, wait_until
from tests.support.leak_scan import find_leaks, known_secrets, namespace_artifacts, scan
from tests.support.local_mode import APP as LOCAL_APP
from tests.support.local_mode import build_instance_image, container_manifest, create_local_app, live_pods
from tests.support.registry import TestRegistry

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = REPO_ROOT / "examples"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
RELEASE = "lunora-operator"
ACCOUNT = "0123456789abcdef0123456789abcdef"  # the examples' account
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry, pytest.mark.timeout(900)]


@dataclass
class Installation:
    testenv: TestEnvironment
    kube: KubeClients
    kubectl: Kubectl
    helm: Helm
    fake: FakeCloudflare
    system: str
    demo: str
    peering: str
    current: BuiltImage
    baseline: BuiltImage
    chart: str
    current_chart_version: str
    baseline_chart_version: str
    api_base_url: str
    measured: dict[str, float] = field(default_factory=dict)

    def values(self, image: BuiltImage, **extra: Any) -> Path:
        apiserver_port, docker_host = bridge_settings(self.testenv)
        values: dict[str, Any] = {
            "image": {"repository": image.repository, "tag": image.tag, "pullPolicy": "IfNotPresent"},
            "imagePullSecrets": [{"name": "registry"}],
            "watchNamespaces": [self.demo],
            "peering": {"name": self.peering},
            "docker": {"host": docker_host},
            "logFormat": "plain",
            "resources": {"requests": {"cpu": "20m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "extraEnv": [
                {"name": "KUBERNETES_SERVICE_HOST", "value": self.testenv.kube_node_ip},
                {"name": "KUBERNETES_SERVICE_PORT", "value": apiserver_port},
                {"name": "SSL_CERT_FILE", "value": "/etc/lunora-test-ca/ca.crt"},
            ],
            "extraVolumes": [{"name": "test-ca", "configMap": {"name": "kube-root-ca.crt"}}],
            "extraVolumeMounts": [{"name": "test-ca", "mountPath": "/etc/lunora-test-ca", "readOnly": True}],
            **extra,
        }
        if image is self.current:  # the baseline's chart has no localMode
            api_server = [
                {"name": "KUBERNETES_SERVICE_HOST", "value": self.testenv.kube_node_ip},
                {"name": "KUBERNETES_SERVICE_PORT", "value": apiserver_port},
            ]
            values["localMode"] = {"router": {"extraEnv": api_server}}
        return self.helm.values_file(values)

    def helm_run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [
                str(self.helm.binary),
                *args,
                "--namespace",
                self.system,
                "--kubeconfig",
                str(self.testenv.kubeconfig),
            ],
            env=self.helm.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"helm {' '.join(args)} failed: {result.stderr}\n{result.stdout}"
        return result

    def resources(self) -> list[dict[str, Any]]:
        found = []
        for plural in ("lunoraapps", "lunoracontainers"):
            found += self.kube.custom.list_namespaced_custom_object(
                "lunora.sh", "v1alpha1", self.demo, plural
            )["items"]
        return found

    def ready(self, name: str, plural: str = "lunoracontainers") -> bool:
        body = self.kube.custom.get_namespaced_custom_object("lunora.sh", "v1alpha1", self.demo, plural, name)
        status = body.get("status") or {}
        conditions = {c["type"]: c for c in status.get("conditions") or []}
        return (
            status.get("observedGeneration") == body["metadata"]["generation"]
            and conditions.get("Ready", {}).get("status") == "True"
        )

    def wait_all_ready(self, timeout: float = 180) -> None:
        self.kubectl(
            "wait",
            "--for=condition=Ready",
            "lunoracontainers,lunoraapps",
            "--all",
            "-n",
            self.demo,
            f"--timeout={int(timeout)}s",
        )
        wait_until(
            lambda: all(self.ready(r["metadata"]["name"], r["kind"].lower() + "s") for r in self.resources()),
            "every resource Ready at its generation",
            timeout=timeout,
        )

    def set_max_instances(self, name: str, value: int) -> None:
        self.kube.custom.patch_namespaced_custom_object(
            "lunora.sh", "v1alpha1", self.demo, "lunoracontainers", name, {"spec": {"maxInstances": value}}
        )

    def reconcile_now(self) -> None:
        """A pass of the active process over every resource, echoed in their status: after it,
        what that process does on its first pass (a new process uploads the Worker once) is done."""
        requested = f"now-{uuid.uuid4().hex[:8]}"
        for resource in self.resources():
            plural = resource["kind"].lower() + "s"
            self.kube.custom.patch_namespaced_custom_object(
                "lunora.sh", "v1alpha1", self.demo, plural, resource["metadata"]["name"],
                {"metadata": {"annotations": {"reconcile.lunora.sh/requestedAt": requested}}},
            )  # fmt: skip
        wait_until(
            lambda: all(
                (r.get("status") or {}).get("lastHandledReconcileAt") == requested for r in self.resources()
            ),
            "a pass over every resource",
            timeout=120,
        )

    def holder(self) -> str | None:
        return lease_holder(self.kube, self.demo, self.peering)

    @contextlib.contextmanager
    def explained(self) -> Iterator[None]:
        """A failed wait inside comes with the peering's records and the operator Pods' logs."""
        try:
            yield
        except AssertionError as failure:
            report = peering_report(self.kube, self.system, self.demo, self.peering)
            raise AssertionError(f"{failure}\n{report}") from None

    def pod(self, name: str) -> Any:
        return self.kube.core.read_namespaced_pod(name, self.system)


def edits_of(records: list[Any], application_id: str) -> list[Any]:
    return [r for r in records if r.operation == "applications.edit" and application_id in r.path]


@pytest.fixture(scope="module")
def installation(
    testenv: TestEnvironment, kube: KubeClients, kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installation]:
    suffix = uuid.uuid4().hex[:8]
    system, demo = f"lunora-system-{suffix}", f"lunora-demo-{suffix}"
    kube.create_namespace(system)
    kube.core.patch_namespace(system, {"metadata": {"labels": RESTRICTED}})
    kube.create_namespace(demo)
    kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        str(REPO_ROOT / "crds"),
        "-f",
        str(REPO_ROOT / "crds" / "kopf"),
    )
    kubectl(
        "-n", system, "create", "secret", "docker-registry", "registry", f"--docker-server={testenv.registry}",
        f"--docker-username={testenv.registry_user}", f"--docker-password={testenv.registry_password}",
    )  # fmt: skip
    helm = Helm(testenv.helm, tmp_path_factory.mktemp("helm"))
    registry_login(helm, testenv)

    measured: dict[str, float] = {}
    current = build_image(testenv, content_tag())
    baseline_source = baseline_tree(tmp_path_factory.mktemp("baseline"))
    baseline = build_image(testenv, BASELINE_COMMIT, source=baseline_source, revision=BASELINE_COMMIT)
    measured["image build (this tree), s"] = current.seconds
    measured["image build (baseline), s"] = baseline.seconds
    chart_version = yaml.safe_load((REPO_ROOT / "charts/lunora-operator/Chart.yaml").read_text())["version"]
    chart, current_version = push_chart(
        REPO_ROOT / "charts/lunora-operator", f"{chart_version}-{current.tag}"
    )
    _, baseline_version = push_chart(baseline_source / "charts/lunora-operator", "0.1.0")
    registry = RegistryConfig(
        host=testenv.registry, username=testenv.registry_user, password=testenv.registry_password
    )
    pki = Path(testenv.kubeconfig).parent
    with FakeCloudflare(registry=registry) as fake, TlsForward(testenv.kube_node_ip, fake.port, pki) as tls:
        installed = Installation(
            testenv=testenv, kube=kube, kubectl=kubectl, helm=helm, fake=fake, system=system, demo=demo,
            peering=f"lunora-operator-{suffix}", current=current, baseline=baseline, chart=chart,
            current_chart_version=current_version, baseline_chart_version=baseline_version,
            api_base_url=f"https://{testenv.kube_node_ip}:{tls.port}/client/v4", measured=measured,
        )  # fmt: skip
        try:
            yield installed
        finally:
            subprocess.run(
                [str(helm.binary), "uninstall", RELEASE, "-n", system, "--kubeconfig", str(testenv.kubeconfig), "--ignore-not-found", "--wait"],
                env=helm.env, capture_output=True, timeout=180, check=False,
            )  # fmt: skip
            kube.delete_namespace(demo)
            kube.delete_namespace(system)
            for what, value in measured.items():
                print(f"in-cluster: {what}: {value:.1f}")


def examples(api_base_url: str) -> str:
    text = "\n---\n".join(path.read_text() for path in sorted(EXAMPLES.glob("*.yaml")))
    return text.replace("http://127.0.0.1:18787/client/v4", api_base_url)


def test_baseline_release_installed_from_the_registry_reconciles_the_examples(
    installation: Installation,
) -> None:
    it = installation
    subprocess.run(
        ["docker", "tag", it.testenv.base_image, "lunora-test/busybox:example"], check=True, timeout=60
    )
    it.helm_run(
        "install", RELEASE, it.chart, "--version", it.baseline_chart_version, "--plain-http",
        "--values", str(it.values(it.baseline)), "--set", "crds.enabled=false", "--wait", "--timeout", "4m",
    )  # fmt: skip
    # The baseline's kopf login names https://kubernetes.default.svc (this release uses the
    # KUBERNETES_SERVICE_HOST/PORT the kubelet gives every Pod), and the test cluster has no DNS:
    # its Pods get a hosts entry for the name, served on the bridge (port 443 too).
    it.kubectl(
        "-n", it.system, "patch", "deployment", RELEASE, "--type=json", "-p",
        '[{"op": "add", "path": "/spec/template/spec/hostAliases", "value": '
        f'[{{"ip": "{it.testenv.kube_node_ip}", "hostnames": ["kubernetes.default.svc"]}}]}}]',
    )  # fmt: skip
    it.kubectl("-n", it.system, "rollout", "status", f"deployment/{RELEASE}", "--timeout=180s")
    it.kubectl.apply(examples(it.api_base_url), "-n", it.demo)
    it.wait_all_ready()
    assert len(it.fake.requests("applications.create")) == 2
    assert {app["name"] for app in it.fake.applications(ACCOUNT)} == {
        "demo-webcontainer",
        "demo-transcodercontainer",
    }


def test_upgrade_to_this_release_with_a_change_in_flight(installation: Installation) -> None:
    it = installation
    applications = {app["name"]: app["id"] for app in it.fake.applications(ACCOUNT)}
    migration_tag = it.fake.script("demo", ACCOUNT)["migration_tag"]
    before = len(it.fake.requests())
    regressions: list[str] = []
    stop = threading.Event()

    def watch_status() -> None:  # the resources nothing changed must stay Ready throughout
        while not stop.is_set():
            for name, plural in (("transcoder", "lunoracontainers"), ("demo", "lunoraapps")):
                if not it.ready(name, plural):
                    regressions.append(f"{plural}/{name}")
            time.sleep(0.2)

    watcher = threading.Thread(target=watch_status, daemon=True)
    watcher.start()
    try:
        it.set_max_instances("web", 4)
        it.helm_run(
            "upgrade", RELEASE, it.chart, "--version", it.current_chart_version, "--plain-http",
            "--values", str(it.values(it.current, replicaCount=2)), "--take-ownership", "--force-conflicts", "--wait", "--timeout", "4m",
        )  # fmt: skip
        it.wait_all_ready()
    finally:
        stop.set()
        watcher.join()
    assert not regressions, f"status regressed during the upgrade: {sorted(set(regressions))}"
    pods = operator_pods(it.kube, it.system)
    assert len(pods) == 2
    assert {p.spec.containers[0].image for p in pods} == {f"{it.current.repository}:{it.current.tag}"}
    for pod in pods:
        assert pod.spec.security_context.run_as_non_root
        assert pod.spec.containers[0].security_context.read_only_root_filesystem
    assert (
        it.kube.core.read_namespace(it.system).metadata.labels["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )
    since = it.fake.requests()[before:]
    assert not [r for r in since if r.operation == "applications.create"], "an application was created again"
    assert {app["name"]: app["id"] for app in it.fake.applications(ACCOUNT)} == applications
    assert len(edits_of(since, applications["demo-webcontainer"])) == 1
    assert not [
        r for r in since if r.operation == "applications.rollouts.create"
    ]  # a size, not a configuration
    assert it.fake.script("demo", ACCOUNT)["migration_tag"] == migration_tag
    assert not [r for r in since if r.method in WRITES and r.status >= 400], "a write was refused"
    for crd in ("lunoracontainers.lunora.sh", "lunoraapps.lunora.sh", "kopfpeerings.kopf.dev"):
        labels = (
            client.ApiextensionsV1Api(it.kube.api).read_custom_resource_definition(crd).metadata.labels or {}
        )
        assert labels.get("helm.sh/chart") == f"lunora-operator-{it.current_chart_version}", crd
    it.kubectl(
        "wait",
        "--for=condition=Ready",
        "lunoracontainers,lunoraapps",
        "--all",
        "-n",
        it.demo,
        "--timeout=10s",
    )


def test_helm_test_runs_the_smoke_test(installation: Installation) -> None:
    result = installation.helm_run("test", RELEASE, "--timeout", "2m")
    assert "Phase:          Succeeded" in result.stdout or "Succeeded" in result.stdout


def test_a_local_mode_app_gets_its_router_from_the_operator_image_and_answers_through_it(
    installation: Installation, docker_client: Any, registry: TestRegistry, tmp_path: Path
) -> None:
    """The in-cluster operator runs a local-mode app's router from its own image (the chart's
    image.*); a request to the router Pod starts an instance; deleting the resources stops all."""
    it = installation
    instance_image = build_instance_image(docker_client, registry, it.testenv.base_image, tmp_path)
    create_local_app(it.kube, it.kubectl, it.testenv, it.demo)
    it.kubectl.apply(container_manifest("echo", instance_image), "-n", it.demo)
    wait_until(lambda: it.ready(LOCAL_APP, "lunoraapps"), "the local-mode app's router Ready", timeout=180)
    router = names.router_name(LOCAL_APP)
    deployment = it.kube.apps.read_namespaced_deployment(router, it.demo)
    containers = deployment.spec.template.spec.containers
    assert [c.name for c in containers] == ["router", "egress-proxy"]
    assert {c.image for c in containers} == {f"{it.current.repository}:{it.current.tag}"}
    networking = client.NetworkingV1Api(it.kube.api)
    policy = networking.read_namespaced_network_policy(f"{LOCAL_APP}-instance-egress", it.demo)
    assert policy.metadata.owner_references[0].name == LOCAL_APP
    (pod,) = it.kube.core.list_namespaced_pod(it.demo, label_selector=names.router_selector(LOCAL_APP)).items

    answer = httpx.get(f"http://{pod.status.pod_ip}:8080/echo/in-cluster/cgi-bin/whoami", timeout=60)

    assert answer.status_code == 200, answer.text
    assert [answer.text.strip()] == live_pods(it.kube, it.demo, "echo")
    instance = it.kube.core.read_namespaced_pod(answer.text.strip(), it.demo)
    env = {e.name: e.value for e in instance.spec.containers[0].env}
    assert env["HTTP_PROXY"] == f"http://{pod.status.pod_ip}:3128"
    it.kubectl("delete", "lunoracontainer", "echo", "-n", it.demo, "--wait=true", "--timeout=60s")
    it.kubectl("delete", "lunoraapp", LOCAL_APP, "-n", it.demo, "--wait=true", "--timeout=90s")
    wait_until(
        lambda: (
            not it.kube.core.list_namespaced_pod(it.demo, label_selector=f"lunora.sh/app={LOCAL_APP}").items
        ),
        "the router and instance Pods gone",
        timeout=90,
    )
    wait_until(
        lambda: not networking.list_namespaced_network_policy(it.demo).items,
        "the app's NetworkPolicy collected with it",
        timeout=60,
    )


def test_standby_takes_over_when_the_active_process_is_killed(installation: Installation) -> None:
    it = installation
    active = wait_until(it.holder, "one process holding the write lease", timeout=60)
    web = it.fake.application("demo-webcontainer", ACCOUNT)["id"]
    before = len(it.fake.requests())
    killed = time.monotonic()
    signal_container(it.testenv, it.pod(active), signal.SIGKILL)
    it.set_max_instances("web", 5)
    wait_until(
        lambda: edits_of(it.fake.requests()[before:], web) or None,
        "the change applied after the kill",
        timeout=60,
    )
    it.measured["takeover after SIGKILL (change applied), s"] = time.monotonic() - killed
    it.wait_all_ready()
    since = it.fake.requests()[before:]
    assert len(edits_of(since, web)) == 1
    assert not [
        r for r in since if r.operation == "applications.rollouts.create"
    ]  # a size, not a configuration
    assert not [r for r in since if r.operation == "applications.create"]
    # Well inside kopf's default 60 s lifetime: the shorter lifetime is what takes over.
    assert it.measured["takeover after SIGKILL (change applied), s"] < 40


def test_a_paused_active_process_writes_nothing_after_waking(installation: Installation) -> None:
    with installation.explained():
        paused_past_its_lease(installation)


def paused_past_its_lease(it: Installation) -> None:
    wait_until(lambda: len(operator_pods(it.kube, it.system)) == 2 and all(
        c.ready for p in operator_pods(it.kube, it.system) for c in p.status.container_statuses or []), "both Pods Ready", timeout=120)  # fmt: skip
    active = wait_until(it.holder, "one process holding the write lease", timeout=60)
    restarts = restart_count(it.kube, it.system, active)
    tag_before = it.fake.script("demo", ACCOUNT)["migration_tag"]
    before = len(it.fake.requests())
    signal_container(it.testenv, it.pod(active), signal.SIGSTOP)
    paused = time.monotonic()
    try:
        # A deletion: the application deleted, then a Worker upload with a deleted_classes
        # migration. Done twice, the second delete and upload would be refused.
        it.kubectl("-n", it.demo, "delete", "lunoracontainer", "transcoder", "--wait=false")
        standby = wait_until(
            lambda: (h := it.holder()) and h != active and h, "the standby holding the lease", timeout=60
        )
        it.measured["takeover after SIGSTOP (lease), s"] = time.monotonic() - paused
        # The keep-alive's lifetime is 10 s, where kopf's default is 60 s.
        assert it.measured["takeover after SIGSTOP (lease), s"] < 40
        wait_until(
            lambda: not [r for r in it.resources() if r["metadata"]["name"] == "transcoder"],
            "the standby deleted the container",
            timeout=90,
        )
    finally:
        woke = len(it.fake.requests())
        signal_container(it.testenv, it.pod(active), signal.SIGCONT)
    # Woken, it finds its lease gone and stops; restarted, it waits behind the standby.
    wait_until(
        lambda: restart_count(it.kube, it.system, active) > restarts, "the woken process stopped", timeout=90
    )
    logs = it.kubectl("-n", it.system, "logs", active, "--previous").stdout
    assert "another operator process took over" in logs
    # While the woken process (started first, so ranking first) is still alive, the standby
    # yields the lease to it and kopf pauses it; once it stopped, the standby holds the lease again.
    wait_until(lambda: it.holder() == standby, "the standby holding the lease again", timeout=60)
    it.wait_all_ready()
    since = it.fake.requests()[before:]
    assert len([r for r in since if r.operation == "applications.delete"]) == 1
    assert it.fake.application("demo-transcodercontainer", ACCOUNT) is None
    # One deleted_classes migration: the tag moved by one (a second upload of it would be refused).
    woken_writes = [(r.operation, r.status) for r in it.fake.requests()[woke:] if r.method in WRITES]
    described = [
        (i + before >= woke, r.operation, r.status, ((r.body or {}).get("metadata") or {}).get("migrations"))
        for i, r in enumerate(since)
        if r.method in WRITES
    ]
    assert it.fake.script("demo", ACCOUNT)["migration_tag"] == f"v{int(tag_before[1:]) + 1}", described
    assert not [r for r in since if r.method in WRITES and r.status >= 400], (
        f"a write was refused: two writers (writes after waking: {woken_writes})"
    )


def test_standby_takes_over_at_once_when_the_active_pod_is_deleted(installation: Installation) -> None:
    it = installation
    active = wait_until(it.holder, "one process holding the write lease", timeout=60)
    deleted = time.monotonic()
    it.kube.core.delete_namespaced_pod(active, it.system)
    wait_until(
        lambda: (h := it.holder()) and h != active and h, "another process holding the lease", timeout=60
    )
    it.measured["takeover after Pod deletion (lease), s"] = time.monotonic() - deleted
    it.reconcile_now()


def test_no_secret_value_reaches_the_logs_events_status_or_cloudflare_records(
    installation: Installation, tmp_path: Path
) -> None:
    """The leak scan of the other e2e tests, over the Pods' logs (the previous container's too),
    both namespaces' Events and ConfigMaps, the resources' status and the fake's records."""
    it = installation
    logs = []
    for pod in operator_pods(it.kube, it.system):
        for previous in ("false", "true"):
            result = it.kubectl(
                "-n", it.system, "logs", pod.metadata.name, f"--previous={previous}", check=False
            )
            path = tmp_path / f"{pod.metadata.name}-{previous}.log"
            path.write_text(result.stdout)
            logs.append(path)
    assert any(path.stat().st_size for path in logs)
    leaks = scan(it.kube, it.demo, it.testenv, logs, [it.fake])
    leaks += find_leaks(
        known_secrets(it.kube, it.demo, it.testenv, [it.fake]), namespace_artifacts(it.kube, it.system)
    )
    assert not leaks, "\n".join(str(leak) for leak in leaks)


def test_uninstall_leaves_everything_and_a_reinstall_adopts_it(installation: Installation) -> None:
    """Uninstalled, then installed again: the new process finds in the output ConfigMap's records
    what Cloudflare already holds (the Worker upload by its etag, each Worker secret by a keyed
    digest) and writes nothing, except the one secret whose value changed meanwhile."""
    it = installation
    # Two Worker secrets for web: one keeps its value, the other changes while no operator runs.
    it.kubectl.apply(
        yaml.safe_dump(
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-keys"},
             "stringData": {"api-key": "web-api-key-0d1f", "token": "web-token-before-7a2c"}}
        ),
        "-n", it.demo,
    )  # fmt: skip
    it.kube.custom.patch_namespaced_custom_object(
        "lunora.sh", "v1alpha1", it.demo, "lunoracontainers", "web",
        {"spec": {"secrets": [
            {"name": "WEB_API_KEY", "valueFrom": {"secretKeyRef": {"name": "web-keys", "key": "api-key"}}},
            {"name": "WEB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "web-keys", "key": "token"}}},
        ]}},
    )  # fmt: skip
    wait_until(
        lambda: it.fake.secret_names("demo", ACCOUNT) >= {"WEB_API_KEY", "WEB_TOKEN"},
        "web's Worker secrets on Cloudflare",
        timeout=120,
    )
    it.reconcile_now()
    kept = it.resources()
    state = it.fake.snapshot()
    before = len(it.fake.requests())
    it.helm_run("uninstall", RELEASE, "--wait", "--timeout", "3m")
    wait_until(lambda: not operator_pods(it.kube, it.system), "the operator Pods gone", timeout=120)
    assert len(it.resources()) == len(kept)
    assert all(it.ready(r["metadata"]["name"], r["kind"].lower() + "s") for r in it.resources())
    client.ApiextensionsV1Api(it.kube.api).read_custom_resource_definition("lunoracontainers.lunora.sh")
    assert not [r for r in it.fake.requests()[before:] if r.method in WRITES], (
        "the uninstall wrote to Cloudflare"
    )
    it.kube.core.patch_namespaced_secret(
        "web-keys", it.demo, {"stringData": {"token": "web-token-after-93be"}}
    )
    it.helm_run(
        "install", RELEASE, it.chart, "--version", it.current_chart_version, "--plain-http",
        "--values", str(it.values(it.current)), "--take-ownership", "--force-conflicts", "--wait", "--timeout", "4m",
    )  # fmt: skip
    wait_until(it.holder, "the reinstalled operator holding the lease", timeout=60)
    it.reconcile_now()  # a pass of the new process over every resource
    it.wait_all_ready()
    since = [r for r in it.fake.requests()[before:] if r.method in WRITES]
    assert it.fake.snapshot()[ACCOUNT]["applications"] == state[ACCOUNT]["applications"]
    # The only write: the secret whose value changed, once. No upload, no put of the unchanged one.
    assert [(r.operation, (r.body or {}).get("name")) for r in since] == [
        ("workers.scripts.secrets.update", "WEB_TOKEN")
    ]
    assert it.fake.secret_value("demo", "WEB_TOKEN", ACCOUNT) == "web-token-after-93be"
    output = it.kube.core.read_namespaced_config_map("demo-wrangler", it.demo)
    recorded = yaml.safe_dump(output.to_dict())
    assert "lunora.sh/worker-upload" in recorded
    assert "lunora.sh/worker-secret-macs" in recorded
    for value in ("web-api-key-0d1f", "web-token-before-7a2c", "web-token-after-93be"):
        assert value not in recorded
