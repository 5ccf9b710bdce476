"""The operator at scale: N LunoraContainers over A apps applied at once, against the real test
cluster and FakeCloudflare. Not a test: it prints numbers.

Printed: time from `kubectl apply` to all Ready, the operator's CPU seconds and peak RSS,
Cloudflare calls and Kubernetes writes per container, renders per app, and the calls, writes and
builds of one no-op resync of everything. One app container per app is built from a ConfigMap
context (pushed to the test registry), the rest use registry images.

Targets (2 cores): all Ready under 60 s, peak RSS under 250 MB, a no-op resync with 0 writes and
0 builds, a handful of renders per app.

    source ~/.cache/lunora-operator/testenv/env
    .venv/bin/python bench/reconcile.py                      # 500 containers, 5 apps
    .venv/bin/python bench/reconcile.py --latency-ms 50      # every Cloudflare call 50 ms slower
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.kube import KubeClients, Kubectl  # noqa: E402
from tests.support.operator import operator_process  # noqa: E402

from lunora_operator.testing import FakeCloudflare  # noqa: E402
from lunora_operator.testing.environment import TestEnvironment  # noqa: E402
from lunora_operator.testing.fake_cloudflare import RegistryConfig  # noqa: E402
from lunora_operator.testing.fake_cloudflare.endpoints import ENDPOINTS  # noqa: E402
from lunora_operator.testing.fake_cloudflare.faults import Fault  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def manifests(apps: int, containers: int, fake: FakeCloudflare, testenv: TestEnvironment) -> str:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "cf-token"},
            "stringData": {"token": "bench-token"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "built-context"},
            "data": {
                "Dockerfile": f"FROM {testenv.base_image}\nCOPY index.html /www/index.html\n",
                "index.html": "bench",
            },
        },
    ]
    per_app = containers // apps
    for a in range(apps):
        app = f"app{a}"
        names = [f"c{a}x{i}" for i in range(per_app)]
        source = "\n".join(f"export class C{a}x{i}Container {{}}" for i in range(per_app))
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{app}-worker"},
                "data": {"index.js": source + "\nexport default {};\n"},
            }
        )
        docs.append(
            {
                "apiVersion": "lunora.sh/v1alpha1",
                "kind": "LunoraApp",
                "metadata": {"name": app},
                "spec": {
                    "workerName": app,
                    "cloudflare": {
                        "accountId": fake.account_id,
                        "apiTokenSecretRef": {"name": "cf-token", "key": "token"},
                        "apiBaseUrl": fake.base_url,
                        "registry": testenv.registry,
                    },
                    "worker": {
                        "configMap": f"{app}-worker",
                        "mainModule": "index.js",
                        "compatibilityDate": "2025-09-01",
                    },
                },
            }
        )
        for i, name in enumerate(names):
            image: dict[str, Any] = (
                {"build": {"context": {"configMap": {"name": "built-context"}}, "buildArgs": {"APP": app}}}
                if i == 0
                else {"registry": f"docker.io/acme/{name}:1.0"}
            )
            docs.append(
                {
                    "apiVersion": "lunora.sh/v1alpha1",
                    "kind": "LunoraContainer",
                    "metadata": {"name": name},
                    "spec": {"app": app, "image": image, "maxInstances": 2, "deletionPolicy": "Orphan"},
                }
            )
    return "\n---\n".join(json.dumps(d) for d in docs)


class WriteCounter:
    """Counts every change to the namespace's objects the operator writes, as the watch reports
    them (other users of the shared cluster do not count)."""

    PLURALS = (
        ("lunora.sh", "v1alpha1", "lunoracontainers"),
        ("lunora.sh", "v1alpha1", "lunoraapps"),
        ("", "v1", "configmaps"),
        ("", "v1", "events"),
    )

    def __init__(self, kube: KubeClients, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._watch, args=p, daemon=True) for p in self.PLURALS]

    def __enter__(self) -> WriteCounter:
        for thread in self._threads:
            thread.start()
        time.sleep(1)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)

    def _watch(self, group: str, version: str, plural: str) -> None:
        from kubernetes import watch

        if group:
            lister: Any = self.kube.custom.list_namespaced_custom_object
            args: tuple[Any, ...] = (group, version, self.namespace, plural)
        else:
            lister = getattr(
                self.kube.core, f"list_namespaced_{'config_map' if plural == 'configmaps' else 'event'}"
            )
            args = (self.namespace,)
        version_seen = ""
        while not self._stop.is_set():
            try:
                stream = watch.Watch().stream(
                    lister, *args, resource_version=version_seen or None, timeout_seconds=30
                )
                for event in stream:
                    obj = event["object"]
                    metadata = obj["metadata"] if isinstance(obj, dict) else obj.metadata
                    version_seen = (
                        metadata["resourceVersion"]
                        if isinstance(metadata, dict)
                        else metadata.resource_version
                    )
                    with self._lock:
                        self.counts[plural] += 1
                    if self._stop.is_set():
                        return
            except Exception:
                time.sleep(0.5)


def operator_metrics(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("lunora_") and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def metric_sum(values: dict[str, float], prefix: str) -> float:
    return sum(v for k, v in values.items() if k.startswith(prefix))


def process_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds, peak RSS in MiB) of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    status = Path(f"/proc/{pid}/status").read_text()
    peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) // 1024  # type: ignore[union-attr]
    return cpu, peak


def not_ready(kube: KubeClients, namespace: str) -> list[str]:
    waiting = []
    for plural in ("lunoracontainers", "lunoraapps"):
        listed = kube.custom.list_namespaced_custom_object("lunora.sh", "v1alpha1", namespace, plural)
        for item in listed["items"]:
            status = item.get("status") or {}
            ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)
            current = status.get("observedGeneration") == item["metadata"]["generation"]
            if not (ready and ready["status"] == "True" and current):
                waiting.append(f"{plural}/{item['metadata']['name']}: {ready and ready.get('reason')}")
    return waiting


def run(containers: int, apps: int, latency_ms: float, resync: float) -> None:
    testenv = TestEnvironment.load()
    kubectl = Kubectl(binary=testenv.kubectl, kubeconfig=testenv.kubeconfig)
    kube = KubeClients.from_kubeconfig(testenv.kubeconfig)
    kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        str(REPO / "crds"),
        "-f",
        str(REPO / "crds" / "kopf"),
    )
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    kube.create_namespace(namespace)
    kube.wait_for_service_account(namespace, "default")
    registry = RegistryConfig(testenv.registry, testenv.registry_user, testenv.registry_password)
    metrics_port = free_port()
    log = Path(tempfile.mkdtemp(prefix="lunora-bench-")) / "operator.log"
    with FakeCloudflare(registry=registry) as fake:
        if latency_ms:
            for endpoint in ENDPOINTS:
                fake.inject(endpoint.operation, Fault.latency(latency_ms / 1000, times=None))
        operator = operator_process(
            testenv,
            namespace,
            log,
            "--metrics-port",
            str(metrics_port),
            "--metrics-address",
            "127.0.0.1",
            resync=resync,
        ).start()
        assert operator.process is not None
        writes_counter = WriteCounter(kube, namespace).__enter__()
        try:
            time.sleep(3)  # the operator is up and watching
            writes_before = writes_counter.snapshot()
            text = manifests(apps, containers, fake, testenv)
            started = time.monotonic()
            kubectl("apply", "-n", namespace, "-f", "-", stdin=text)
            applied = time.monotonic() - started
            while waiting := not_ready(kube, namespace):
                operator.assert_alive()
                if time.monotonic() - started > 900:
                    raise SystemExit(f"not Ready after 900 s: {waiting[:5]} … ({len(waiting)})")
                time.sleep(1)
            all_ready = time.monotonic() - started
            cpu, peak = process_usage(operator.process.pid)
            # What kubectl apply itself created (and the namespace's root CA ConfigMap).
            bench_writes = 2 + 2 * apps + containers
            writes = writes_counter.snapshot() - writes_before
            calls = fake.requests()
            metrics = operator_metrics(metrics_port)
            renders = metric_sum(metrics, "lunora_app_renders_total")

            # One no-op resync of everything: wait a resync interval and a half.
            time.sleep(2)
            fake.clear_requests()
            writes_before = writes_counter.snapshot()
            quiet_before = operator_metrics(metrics_port)
            time.sleep(resync * 1.5)
            quiet_writes = writes_counter.snapshot() - writes_before
            quiet_calls = fake.requests()
            quiet_after = operator_metrics(metrics_port)
            cpu_after, peak_after = process_usage(operator.process.pid)
        finally:
            writes_counter.__exit__()
            kubectl("delete", "namespace", namespace, "--wait=false", check=False)
            time.sleep(2)
            operator.stop()

    def per(n: float) -> str:
        return f"{n / containers:.2f}"

    print(
        f"containers {containers} over {apps} apps, Cloudflare latency {latency_ms:.0f} ms, resync {resync:.0f} s"
    )
    print(f"  kubectl apply              {applied:6.1f} s")
    print(f"  all Ready after            {all_ready:6.1f} s   (target < 60 s)")
    print(f"  operator CPU               {cpu:6.1f} s   ({cpu / all_ready:.2f} cores while converging)")
    print(f"  operator peak RSS          {max(peak, peak_after):6d} MiB (target < 250)")
    by_operation = Counter(r.operation for r in calls)
    print(
        f"  Cloudflare calls           {len(calls):6d}     per container {per(len(calls))}: {dict(by_operation)}"
    )
    total_writes = sum(writes.values()) - bench_writes
    print(
        f"  Kubernetes writes          {total_writes:6d}     per container {per(total_writes)}: {dict(writes)}"
    )
    print(f"  renders per app            {renders / apps:6.1f}")
    image_builds = metric_sum(quiet_after, "lunora_image_builds_total") - metric_sum(
        quiet_before, "lunora_image_builds_total"
    )
    image_pushes = metric_sum(quiet_after, "lunora_image_pushes_total") - metric_sum(
        quiet_before, "lunora_image_pushes_total"
    )
    mutating = [r for r in quiet_calls if r.method != "GET"]
    quiet_renders = metric_sum(quiet_after, "lunora_app_renders_total") - metric_sum(
        quiet_before, "lunora_app_renders_total"
    )
    print(
        f"  no-op resync ({resync * 1.5:.0f} s)    Kubernetes writes {sum(quiet_writes.values())} {dict(quiet_writes)}, Cloudflare calls "
        f"{len(quiet_calls)} ({len(mutating)} writes), builds {image_builds:.0f}, pushes {image_pushes:.0f}, "
        f"renders {quiet_renders:.0f}, CPU {cpu_after - cpu:.1f} s"
    )
    print(f"  operator log: {log}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--apps", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--resync", type=float, default=30.0, help="the operator's resync interval, seconds")
    options = parser.parse_args()
    run(options.containers, options.apps, options.latency_ms, options.resync)


if __name__ == "__main__":
    main()
