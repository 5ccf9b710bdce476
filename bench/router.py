"""The local-mode router against nginx and a bare Pod, on the real node.

    flock /tmp/lunora-heavy.lock .venv/bin/python -m bench.router [--seconds 3] [--rounds 5] [--cold 5]
        [--proxy-only] [--profile DIR] [--baseline CHECKOUT]

Prints, in one run:
- throughput and p50/p99 latency (wrk) directly to an instance Pod, through the router, and
  through nginx (Debian's, one worker, started here on 127.0.0.1) proxying to the same Pod:
  one connection at a time (added latency) and 32 at once (throughput). The machine is shared,
  so the three are measured in alternating rounds under the same conditions: each round runs all
  three back to back (in a rotated order), a ratio is taken within each round, and the median
  and spread over the rounds are printed with the load average before each round. Beside the
  rates, the CPU time the router and the nginx worker spent per request (from /proc), which the
  other load on the machine moves far less than a rate. `--baseline` adds another commit's
  router (a checkout, e.g. `git worktree add /tmp/base main`) to the same rounds, for a before
  and after under the same conditions; `--profile` samples the router with py-spy;
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
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Run:
    rps: float
    p50: float
    """ms"""
    p99: float
    """ms"""
    requests: int
    cpu_ms: float | None
    """CPU time (user + system) of the proxy process per request, in ms; None for direct runs."""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, connections: int, seconds: int, pid: int | None = None) -> Run:
    threads = min(connections, 2)
    before = cpu_seconds(pid) if pid is not None else 0.0
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    spent = cpu_seconds(pid) - before if pid is not None else 0.0
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        raise SystemExit(f"{url} answered errors:\n{out}")
    latency = {}
    for label in ("50%", "99%"):
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        latency[label] = float(value) * UNITS[unit]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Run(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50=latency["50%"],
        p99=latency["99%"],
        requests=requests,
        cpu_ms=spent * 1000 / requests if pid is not None and requests else None,
    )


def nginx_worker(master: int) -> int:
    """nginx's one worker process, a child of the master started here."""
    children = wait_until(
        lambda: Path(f"/proc/{master}/task/{master}/children").read_text().split(), "nginx worker", 10
    )
    return int(children[0])


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def spread(values: list[float], digits: int = 2) -> str:
    return (
        f"{statistics.median(values):.{digits}f} (min {min(values):.{digits}f}, max {max(values):.{digits}f})"
    )


def compare(targets: dict[str, tuple[str, int | None]], rounds: int, seconds: int) -> None:
    """Runs every target once per round, in a rotated order, and prints medians and per-round
    ratios: each router against nginx in the same round."""
    names = list(targets)
    single: dict[str, list[Run]] = {name: [] for name in names}
    loaded: dict[str, list[Run]] = {name: [] for name in names}
    print(f"wrk, {seconds} s per run, {rounds} rounds; busybox httpd in a standard-3 Pod; nginx with 1 worker; "
          f"{os.cpu_count()} cores")  # fmt: skip
    for number in range(rounds):
        order = names[number % len(names) :] + names[: number % len(names)]
        print(f"  round {number + 1}: load average {load()}; order {', '.join(order)}", flush=True)
        for name in order:
            url, pid = targets[name]
            single[name].append(wrk(url, 1, seconds))
            loaded[name].append(wrk(url, 32, seconds, pid))
    print(
        f"  {'':8} {'1 conn: p50 ms':>15} {'p99 ms':>8} {'32 conns: req/s':>16} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'CPU ms/req':>11}   (medians over the rounds)"
    )
    for name in names:
        median = statistics.median
        cpu = [r.cpu_ms for r in loaded[name] if r.cpu_ms is not None]
        print(
            f"  {name:8} {median(r.p50 for r in single[name]):15.3f} {median(r.p99 for r in single[name]):8.3f}"
            f" {median(r.rps for r in loaded[name]):16.0f} {median(r.p50 for r in loaded[name]):8.3f}"
            f" {median(r.p99 for r in loaded[name]):8.3f} {(f'{median(cpu):11.3f}' if cpu else ''):>11}"
        )
    nginx_added = [n.p50 - d.p50 for n, d in zip(single["nginx"], single["direct"], strict=True)]
    cpu_nginx = [r.cpu_ms for r in loaded["nginx"] if r.cpu_ms is not None]
    print(f"  nginx: added p50 {spread(nginx_added, 3)} ms; CPU per request {spread(cpu_nginx, 3)} ms")
    for name in names:
        if name in ("direct", "nginx"):
            continue
        ratios = [r.rps / n.rps for r, n in zip(loaded[name], loaded["nginx"], strict=True)]
        added = [r.p50 - d.p50 for r, d in zip(single[name], single["direct"], strict=True)]
        cpu = [r.cpu_ms for r in loaded[name] if r.cpu_ms is not None]
        print(f"  {name}: throughput/nginx per round {', '.join(f'{x:.2f}' for x in ratios)}")
        print(f"  {name}: throughput/nginx {spread(ratios)} (target >= 0.5)")
        print(f"  {name}: added p50 {spread(added, 3)} ms (target < 1); CPU per request {spread(cpu, 3)} ms")


def profile(url: str, pid: int, seconds: int, out: Path) -> None:
    """py-spy samples the router while wrk loads it with 32 connections; prints where the samples
    were, by package and by function (the collapsed stacks stay in `out`)."""
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "router.stacks.txt"
    spy = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--rate", "200",
           "--duration", str(seconds), "--nonblocking", "--nolineno"]  # fmt: skip
    recording = subprocess.Popen([*spy, "--format", "raw", "--output", str(raw)], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    wrk(url, 32, seconds)
    recording.wait(seconds + 30)
    leaves: dict[str, int] = {}
    packages: dict[str, int] = {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1]
        leaves[leaf] = leaves.get(leaf, 0) + int(count)
        package = _package(stack)
        packages[package] = packages.get(package, 0) + int(count)
    total = sum(leaves.values()) or 1
    print(f"profile of the router under 32 connections ({total} samples; stacks in {raw}):")
    print("  by package of the innermost frame not in asyncio/uvloop: "
          + ", ".join(f"{name} {n * 100 / total:.0f}%" for name, n in sorted(packages.items(), key=lambda x: -x[1])))  # fmt: skip
    for leaf, n in sorted(leaves.items(), key=lambda x: -x[1])[:12]:
        print(f"  {n * 100 / total:5.1f}%  {leaf}")


def _package(stack: str) -> str:
    """Who the sample's time is for: the innermost frame outside the event loop's own code."""
    for frame in reversed(stack.split(";")):
        for name in ("lunora_operator", "aiohttp", "httptools", "multidict", "yarl", "kubernetes", "urllib3"):
            if f"/{name}/" in frame or f"({name}/" in frame:
                return name
        if "/asyncio/" not in frame and "/uvloop/" not in frame:
            return "other"
    return "event loop"


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


def baseline_router(testenv: TestEnvironment, namespace: str, work: Path, checkout: Path) -> Router:
    """The router of another checkout (its `operator/` first on the path) for the same app."""
    router = Router(testenv, namespace, work / "baseline-router.log", "--grace-period", "1")
    code = "from lunora_operator.cli import app; app()"
    router.command = ["env", f"PYTHONPATH={checkout.resolve() / 'operator'}", sys.executable, "-c", code,
                      *router.command[1:]]  # fmt: skip
    return router.start()


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
    parser.add_argument("--seconds", type=int, default=3, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of direct, nginx and router runs")
    parser.add_argument("--cold", type=int, default=5, help="cold starts of each kind")
    parser.add_argument("--proxy-only", action="store_true", help="skip the cold starts and the timers")
    parser.add_argument("--profile", type=Path, help="also record a py-spy profile of the router here")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of another commit: its router (run with this venv) is measured beside this one",
    )
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
    front = nginx = baseline = None
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
        assert front.process is not None
        targets = {
            "direct": (f"http://{ip}:8080/index.html", None),
            "nginx": (f"http://127.0.0.1:{nginx_port}/index.html", nginx_worker(nginx.pid)),
            "router": (f"{front.url}/bench/b1/index.html", front.process.pid),
        }
        if args.baseline is not None:
            baseline = baseline_router(testenv, namespace, work, args.baseline)
            assert baseline.process is not None
            targets["baseline"] = (f"{baseline.url}/bench/b1/index.html", baseline.process.pid)
        compare(targets, args.rounds, args.seconds)
        if baseline is not None:
            baseline.close()  # two routers would both run the timers below
        if args.profile is not None:
            profile(f"{front.url}/bench/b1/index.html", front.process.pid, args.seconds, args.profile)
        if args.proxy_only:
            return

        router_cold = [first_byte(f"{front.url}/bench/cold-{n}/index.html") for n in range(args.cold)]
        bare_cold = [bare_pod_first_byte(kube, namespace, image, "test-registry") for _ in range(args.cold)]
        cold, bare = statistics.median(router_cold), statistics.median(bare_cold)
        print(f"cold start to first byte, median of {args.cold}: new id through the router {cold:.3f} s, bare Pod {bare:.3f} s,"
              f" ratio {cold / bare:.2f} (target <= 1.3)")  # fmt: skip
        print(
            f"  router {', '.join(f'{t:.3f}' for t in router_cold)}; bare {', '.join(f'{t:.3f}' for t in bare_cold)}"
        )

        sleep_late, hard_late = timer_lateness(front, kube, namespace)
        print(f"load average at the end {load()} on {os.cpu_count()} cores")
        print(f"timers: sleepAfter {SLEEP_AFTER} s fired {sleep_late:+.3f} s late, hardTimeout {HARD_TIMEOUT} s {hard_late:+.3f} s late"
              " (target within 1 s; seen through the Pods' watch)")  # fmt: skip
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        if front is not None:
            front.close()
        if baseline is not None:
            baseline.close()
        kube.delete_namespace(namespace)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
