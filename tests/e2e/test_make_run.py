"""`make run`'s flow (hack/run.sh) without the interactive part: the examples reach Ready with
the built-in fake Cloudflare, and stopping it leaves no fake behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.kube import Kubectl
from tests.support.operator import REPO_ROOT, Resources

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_make_run_brings_the_examples_to_ready(
    kubectl: Kubectl, installed_crds: None, tmp_path: Path
) -> None:
    namespace = f"run-{uuid.uuid4().hex[:8]}"
    port = free_port()
    log = (tmp_path / "run.log").open("wb")
    env = {**os.environ, "LUNORA_RUN_NAMESPACE": namespace, "LUNORA_FAKE_PORT": str(port)}
    run = subprocess.Popen(
        [str(REPO_ROOT / "hack" / "run.sh")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        resources = Resources(kubectl, namespace)
        for kind, name in (
            ("lunoraapp", "demo"),
            ("lunoracontainer", "web"),
            ("lunoracontainer", "transcoder"),
        ):
            resources.wait_condition(kind, name, timeout=180)
        assert f"127.0.0.1:{port}/__fake__/state" in (tmp_path / "run.log").read_text()
    finally:
        os.killpg(run.pid, signal.SIGINT)
        run.wait(60)
        log.close()
        kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the fake Cloudflare outlived make run"
