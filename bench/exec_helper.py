"""What the exec helper costs, on the real node.

    flock /tmp/lunora-heavy.lock .venv/bin/python -m bench.exec_helper [--cold 7] [--execs 30]

Prints, in one run:
- cold start to first byte of a new id through a router with `--exec-helper-image` (the Pod has
  the init container copying the helper) and through one without, taken in turns so that the
  shared machine's load falls on both alike; the medians and their difference;
- the round trip of `exec true` on a running instance (router → API server → kubelet → the
  helper in the Pod and back), median and p90.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import docker
import httpx
from tests.support.kube import KubeClients, Kubectl
from tests.support.local_mode import (
    Router,
    build_exec_helper_image,
    build_instance_image,
    container_manifest,
    create_local_app,
)
from tests.support.registry import TestRegistry
from tests.support.testenv import env_file

from lunora_operator.images.push import RegistryAuth
from lunora_operator.testing.environment import TestEnvironment


def first_byte(url: str) -> float:
    """Seconds from sending the request to its first body byte."""
    start = time.monotonic()
    with httpx.stream("GET", url, timeout=60) as response:
        next(response.iter_raw(1))
        assert response.status_code == 200, response.status_code
    return time.monotonic() - start


def exec_round_trip(front: Router, instance: str) -> float:
    start = time.monotonic()
    answer = front.http.post(
        f"/_api/containers/runner/instances/{instance}/exec", json={"args": [], "command": "true"}
    )
    elapsed = time.monotonic() - start
    assert answer.status_code == 200, answer.text
    assert answer.json()["code"] == 0, answer.text
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=7, help="cold starts of each kind")
    parser.add_argument("--execs", type=int, default=30, help="exec round trips")
    args = parser.parse_args()
    testenv = TestEnvironment.load(env_file=env_file())
    kube = KubeClients.from_kubeconfig(testenv.kubeconfig)
    kubectl = Kubectl(binary=testenv.kubectl, kubeconfig=testenv.kubeconfig)
    registry = TestRegistry(testenv.registry, RegistryAuth(testenv.registry_user, testenv.registry_password))
    work = Path(tempfile.mkdtemp(prefix="bench-exec-"))
    os.environ["DOCKER_CONFIG"] = str(work / "docker-config")
    image = build_instance_image(
        docker.DockerClient(base_url=testenv.docker_host), registry, testenv.base_image, work / "image"
    )
    helper = build_exec_helper_image(testenv)
    # One namespace (one app) per router: two routers must not serve one app.
    namespaces = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    routers: list[Router] = []
    try:
        for namespace in namespaces:
            kube.create_namespace(namespace)
            kube.wait_for_service_account(namespace, "default")
            create_local_app(kube, kubectl, testenv, namespace)
            kubectl.apply(container_manifest("runner", image, maxInstances=args.cold + 1), "-n", namespace)
        plain = Router(testenv, namespaces[0], work / "plain.log", "--grace-period", "1").start()
        routers.append(plain)
        helped = Router(
            testenv, namespaces[1], work / "helped.log", "--grace-period", "1", "--exec-helper-image", helper
        ).start()
        routers.append(helped)
        first_byte(f"{helped.url}/runner/warm-up/index.html")  # the node has both images from here on
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        with_helper: list[float] = []
        without: list[float] = []
        for n in range(args.cold):
            without.append(first_byte(f"{plain.url}/runner/plain-{n}/index.html"))
            with_helper.append(first_byte(f"{helped.url}/runner/helped-{n}/index.html"))
        trips = sorted(exec_round_trip(helped, "warm-up") for _ in range(args.execs))

        median_with, median_without = statistics.median(with_helper), statistics.median(without)
        print(f"load average {load} on {os.cpu_count()} cores")
        print(
            f"cold start to first byte, median of {args.cold}: with the exec helper {median_with:.3f} s, "
            f"without {median_without:.3f} s, difference {median_with - median_without:+.3f} s"
        )
        print(f"  with {', '.join(f'{t:.3f}' for t in with_helper)}")
        print(f"  without {', '.join(f'{t:.3f}' for t in without)}")
        p90 = trips[int(0.9 * (len(trips) - 1))]
        print(
            f"exec `true` round trip, {args.execs} calls: median {statistics.median(trips) * 1000:.0f} ms, "
            f"p90 {p90 * 1000:.0f} ms"
        )
    finally:
        for router in routers:
            router.close()
        for namespace in namespaces:
            kube.delete_namespace(namespace)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
