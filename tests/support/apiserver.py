"""A second kube-apiserver process of the test control plane, for tests that stop and start the
API server under a running operator.

It runs the shared API server's own binary and flags (hack/apiserver-up.sh records them in
`kube-apiserver.cmdline`) against the same etcd, certificates and service-account keys, on a port
of its own: two API servers over one etcd is an ordinary HA control plane. Stopping it is a real
API server restart for whoever talks to it (watches cut, connections refused, a cold watch cache
after the start, tokens still valid because etcd keeps everything), while the shared one keeps
serving every other test.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType

import yaml


def server_address(kubeconfig: Path) -> tuple[str, int]:
    """(host, port) of the API server a kubeconfig's first cluster names."""
    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    parsed = urllib.parse.urlsplit(server)
    return parsed.hostname or "127.0.0.1", parsed.port or 443


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SecondApiServer:
    def __init__(self, shared_kubeconfig: Path, work: Path) -> None:
        self.pki = shared_kubeconfig.parent
        self.shared_kubeconfig = shared_kubeconfig
        self.port = free_port()
        self.kubeconfig = work / "second-apiserver.kubeconfig"
        self.log_path = work / "second-apiserver.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        recorded = (self.pki / "kube-apiserver.cmdline").read_text().split()
        port_at = recorded.index("--secure-port") + 1
        self.command = [*recorded[:port_at], str(self.port), *recorded[port_at + 1 :]]
        config = yaml.safe_load(shared_kubeconfig.read_text())
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = f"https://127.0.0.1:{self.port}"
        self.kubeconfig.write_text(yaml.safe_dump(config))

    def __enter__(self) -> SecondApiServer:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 120) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process.poll() is not None:
                raise AssertionError(f"the second kube-apiserver exited:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the second kube-apiserver is not ready after {timeout}s:\n{self.log_tail()}"
                )
            time.sleep(0.5)

    def stop(self, grace: float = 5) -> None:
        """SIGTERM (the API server's graceful shutdown), SIGKILL after `grace` seconds: with
        watches open it stops serving at once but may take half a minute to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def restart(self, down_for: float) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()
        self.restarts += 1

    def ready(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        context.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        try:
            with urllib.request.urlopen(
                f"https://127.0.0.1:{self.port}/readyz", context=context, timeout=2
            ) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
