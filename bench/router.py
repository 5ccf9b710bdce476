"""The local-mode router against nginx and a bare Pod, on the real node.

    flock /tmp/lunora-heavy.lock .venv/bin/python -m bench.router [--seconds 8] [--cold 5]

Prints, in one run:
- throughput and p50/p99 latency (wrk) directly to an instance Pod, through the router, and
  through nginx (Debian's, one worker, started here on 127.0.0.1) proxying to the same Pod:
  one connection at a time (added latency) and 32 at once (throughput);
- cold start: a new id through the router to its first byte, against a bare Pod of the same
  image created through the API and asked until its first byte;
- how late sleepAfter (2 s) and hardTimeout (4 s) stop their instances, from the Pods' watch.

Targets on 2 cores: router ≥ 0.5× nginx throughput, < 1 ms added p50, cold start ≤ 1.3× the
bare Pod, timers within 1 s. Needs the test environment, `wrk` and `nginx` (Debian packages).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import httpx
import urllib3
from kubernetes import watch
from tests.support.apiserver import free_port
from tests.support.kube import KubeClients, Kubectl, wait_until
from tests.support.local_mode import (
    Router,
    build_instance_image,
    container_manifest,
    create_local_app,
    live_pods,
)
from tests.support.registry import TestRegistry
from tests.support.testenv import env_file

from lunora_operator.images.push import RegistryAuth
from lunora_operator.testing.environment import TestEnvironment

SLEEP_AFTER, HARD_TIMEOUT = 2, 4
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://{upstream}; proxy_set_header Host container; }}
  }}
}}
"""


def wrk(url: str, connections: int, seconds: int) -> dict[str, float]:
    threads = min(connections, 2)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for label, key in (("50%", "p50"), ("99%", "p99")):
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        result[key] = float(value) * UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = float(errors.group(1)) if errors else 0.0
    return result


def start_nginx(work: Path, upstream: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port, upstream=upstream))
    process = subprocess.Popen(
        ["nginx", "-c", str(work / "nginx.conf"), "-g", "daemon off;"], stderr=subprocess.DEVNULL
    )
    wait_until(lambda: _connects("127.0.0.1", port), "nginx listening", 10)
    return process, port


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def first_byte(url: str, headers: dict[str, str] | None = None) -> float:
    """Seconds from sending the request to its first body byte."""
    start = time.monotonic()
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        next(response.iter_raw(1))
        assert response.status_code == 200, response.status_code
    return time.monotonic() - start


def bare_pod_first_byte(kube: KubeClients, namespace: str, image: str, pull_secret: str) -> float:
    """A Pod created through the API and asked, as soon as it has an address, until it answers."""
    name = f"bare-{uuid.uuid4().hex[:8]}"
    manifest = {
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "automountServiceAccountToken": False,
            "imagePullSecrets": [{"name": pull_secret}],
            "containers": [{"name": "instance", "image": image, "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "2", "memory": "256Mi"}}}],
        },
    }  # fmt: skip
    start = time.monotonic()
    kube.core.create_namespaced_pod(namespace, manifest)
    stream = watch.Watch().stream(
        kube.core.list_namespaced_pod, namespace, field_selector=f"metadata.name={name}", timeout_seconds=60
    )
    ip = next(e["object"].status.pod_ip for e in stream if e["object"].status.pod_ip)
    while True:
        try:
            with httpx.stream("GET", f"http://{ip}:8080/index.html", timeout=5) as response:
                next(response.iter_raw(1))
                break
        except httpx.TransportError:
            time.sleep(0.01)
    elapsed = time.monotonic() - start
    kube.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    return elapsed


class DeletionWatch:
    """Wall times at which instance Pods were first seen being deleted."""

    def __init__(self, kube: KubeClients, namespace: str) -> None:
        self.seen: dict[str, tuple[datetime, dict[str, Any]]] = {}
        self._watch = watch.Watch()
        threading.Thread(target=self._run, args=(kube, namespace), daemon=True).start()

    def _run(self, kube: KubeClients, namespace: str) -> None:
        with contextlib.suppress(urllib3.exceptions.HTTPError):  # stop() cuts the stream
            self._follow(kube, namespace)

    def _follow(self, kube: KubeClients, namespace: str) -> None:
        for event in self._watch.stream(
            kube.core.list_namespaced_pod, namespace, label_selector="lunora.sh/role=instance"
        ):
            pod = event["object"]
            if pod.metadata.deletion_timestamp and pod.metadata.name not in self.seen:
                self.seen[pod.metadata.name] = (datetime.now(UTC), pod.metadata.annotations or {})

    def stop(self) -> None:
        self._watch.stop()


def timer_lateness(front: Router, kube: KubeClients, namespace: str) -> tuple[float, float]:
    deletions = DeletionWatch(kube, namespace)
    front.get("/hard/h1/index.html")
    front.get("/sleepy/s1/index.html")
    idle_from = datetime.now(UTC)
    wait_until(lambda: len(deletions.seen) >= 2, "both timers fired", 30)
    deletions.stop()
    late: dict[str, float] = {}
    for name, (seen, stamps) in deletions.seen.items():
        if name.startswith("sleepy"):
            late["sleep"] = (seen - idle_from).total_seconds() - SLEEP_AFTER
        else:
            started = datetime.fromisoformat(stamps["lunora.sh/run-started-at"])
            late["hard"] = (seen - started).total_seconds() - HARD_TIMEOUT
    return late["sleep"], late["hard"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of each wrk run")
    parser.add_argument("--cold", type=int, default=5, help="cold starts of each kind")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"{tool} is missing: apt-get install -y {'wrk' if tool == 'wrk' else 'nginx-light'}"
            )
    testenv = TestEnvironment.load(env_file=env_file())
    kube = KubeClients.from_kubeconfig(testenv.kubeconfig)
    kubectl = Kubectl(binary=testenv.kubectl, kubeconfig=testenv.kubeconfig)
    registry = TestRegistry(testenv.registry, RegistryAuth(testenv.registry_user, testenv.registry_password))
    work = Path(tempfile.mkdtemp(prefix="bench-router-"))
    os.environ["DOCKER_CONFIG"] = str(work / "docker-config")
    image = build_instance_image(
        docker.DockerClient(base_url=testenv.docker_host), registry, testenv.base_image, work / "image"
    )
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    kube.create_namespace(namespace)
    kube.wait_for_service_account(namespace, "default")
    apply = lambda text: kubectl.apply(text, "-n", namespace)  # noqa: E731
    front = nginx = None
    try:
        create_local_app(kube, kubectl, testenv, namespace)
        apply(container_manifest("bench", image, instanceType="standard-3"))
        apply(container_manifest("sleepy", image, sleepAfter=SLEEP_AFTER))
        apply(container_manifest("hard", image, hardTimeout=HARD_TIMEOUT, sleepAfter=600))
        front = Router(testenv, namespace, work / "router.log", "--grace-period", "1").start()
        assert front.get("/bench/b1/index.html").status_code == 200
        pod = live_pods(kube, namespace, "bench")[0]
        ip = kube.core.read_namespaced_pod(pod, namespace).status.pod_ip
        nginx, nginx_port = start_nginx(work / "nginx", f"{ip}:8080")
        targets = {
            "direct": f"http://{ip}:8080/index.html",
            "nginx": f"http://127.0.0.1:{nginx_port}/index.html",
            "router": f"{front.url}/bench/b1/index.html",
        }
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"wrk, {args.seconds} s per run; busybox httpd in a standard-3 Pod; nginx with 1 worker; load average {load}"
        )
        print(
            f"  {'':8} {'1 conn: p50 ms':>15} {'p99 ms':>8} {'32 conns: req/s':>16} {'p50 ms':>8} {'p99 ms':>8}"
        )
        results = {}
        for name, url in targets.items():
            single, loaded = wrk(url, 1, args.seconds), wrk(url, 32, args.seconds)
            results[name] = (single, loaded)
            assert single["errors"] == loaded["errors"] == 0, f"{name} answered errors"
            print(
                f"  {name:8} {single['p50']:15.3f} {single['p99']:8.3f} {loaded['rps']:16.0f} {loaded['p50']:8.3f} {loaded['p99']:8.3f}"
            )
        ratio = results["router"][1]["rps"] / results["nginx"][1]["rps"]
        added = results["router"][0]["p50"] - results["direct"][0]["p50"]
        print(
            f"  router/nginx throughput {ratio:.2f} (target >= 0.5); router added p50 {added:.3f} ms (target < 1)"
        )

        router_cold = [first_byte(f"{front.url}/bench/cold-{n}/index.html") for n in range(args.cold)]
        bare_cold = [bare_pod_first_byte(kube, namespace, image, "test-registry") for _ in range(args.cold)]
        cold, bare = statistics.median(router_cold), statistics.median(bare_cold)
        print(f"cold start to first byte, median of {args.cold}: new id through the router {cold:.3f} s, bare Pod {bare:.3f} s,"
              f" ratio {cold / bare:.2f} (target <= 1.3)")  # fmt: skip
        print(
            f"  router {', '.join(f'{t:.3f}' for t in router_cold)}; bare {', '.join(f'{t:.3f}' for t in bare_cold)}"
        )

        sleep_late, hard_late = timer_lateness(front, kube, namespace)
        print(
            f"load average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
        )
        print(f"timers: sleepAfter {SLEEP_AFTER} s fired {sleep_late:+.3f} s late, hardTimeout {HARD_TIMEOUT} s {hard_late:+.3f} s late"
              " (target within 1 s; seen through the Pods' watch)")  # fmt: skip
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        if front is not None:
            front.close()
        kube.delete_namespace(namespace)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
