"""`make dev`'s flow (hack/dev.sh): examples/local/hello is built from its files by the operator
and pushed to the test registry, and every curl line the script prints works as printed, run by
the real curl: ids stick to their Pod, the second required port answers, the first request is
held until /ready answers 200. Stopping the script stops the operator and the router."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from lunora_operator.testing.environment import TestEnvironment
from tests.support.kube import KubeClients, Kubectl
from tests.support.local_mode import live_pods
from tests.support.operator import REPO_ROOT, wait_for

pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry, pytest.mark.timeout(600)]
CURL = re.compile(r"^  (curl -s .*?)(?:\s{2,}# .*)?$")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def printed_calls(log: Path, timeout: float = 420) -> list[str]:
    """The curl lines once the script printed them (it prints them after the container is Ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Ctrl-C stops" in text:
            return [m.group(1) for line in text.splitlines() if (m := CURL.match(line))]
        time.sleep(1)
    raise AssertionError(f"hack/dev.sh printed no curl lines:\n{log.read_text()[-3000:]}")


def curl(line: str) -> str:
    result = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{line}: {result.stderr}"
    return result.stdout


def test_make_dev_builds_the_example_and_every_printed_call_answers(
    kubectl: Kubectl, kube: KubeClients, testenv: TestEnvironment, tmp_path: Path
) -> None:
    namespace = f"dev-{uuid.uuid4().hex[:8]}"
    port = free_port()
    log_path = tmp_path / "dev.log"
    env = {**os.environ, "LUNORA_DEV_NAMESPACE": namespace, "LUNORA_DEV_PORT": str(port)}
    with log_path.open("wb") as log:
        dev = subprocess.Popen(
            [str(REPO_ROOT / "hack" / "dev.sh")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        calls = printed_calls(log_path)
        assert len(calls) == 7, calls
        first, again, other, second_port, any_, instances, stop = calls

        started = time.monotonic()
        alice = curl(first)
        held = time.monotonic() - started
        assert alice.startswith("hello from local mode\ninstance: hello-"), alice
        assert held >= 3, f"the first request was answered after {held:.1f}s, before /ready turned 200"
        assert curl(again) == alice
        bob = curl(other)
        assert bob.startswith("hello from local mode\n")
        assert bob != alice
        assert curl(second_port).strip() == "<p>hello: port 8081</p>"
        assert curl(any_).startswith("hello from local mode\n")
        listed = json.loads(curl(instances))
        assert "hello" in json.dumps(listed)
        assert json.loads(curl(stop))["status"] == "healthy", "stop() signals; the state follows the process"
        state = stop.replace("-X POST ", "").replace("/stop", "/state")
        stopped = wait_for(
            "alice stopped", lambda: (s := json.loads(curl(state)))["status"] != "healthy" and s
        )
        assert (stopped["status"], stopped.get("exitCode")) == ("stopped_with_code", 143)
        assert len(live_pods(kube, namespace, "hello")) >= 2
        container = json.loads(
            kubectl("get", "lunoracontainer", "hello", "-n", namespace, "-o", "json").stdout
        )
        assert container["status"]["image"]["ref"].startswith(f"{testenv.registry}/{namespace}/")
    finally:
        os.killpg(dev.pid, signal.SIGINT)
        dev.wait(60)
        kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the router outlived make dev"
    assert testenv.registry_password not in log_path.read_text()
