"""A developer's Worker under the pinned real `wrangler dev`, its container classes rendered with
`--flavour local`, calls its container in the cluster: each request, lifecycle call and exec goes
through the local-mode router to a real Pod. wrangler builds no image: the dev config has no
`containers[]`, or keeps them with `--enable-containers=false`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from lunora_operator.render import render, write_output
from lunora_operator.testing.environment import TestEnvironment
from lunora_operator.wrangler.document import open_document
from tests.e2e.local.conftest import Router, container_manifest, instance_pods
from tests.support.apiserver import free_port
from tests.support.kube import KubeClients
from tests.support.operator import Resources

pytest_plugins = ["tests.support.operator_fixtures"]

# The Worker: `/exec` runs a command through Lunora's exec RPC, `/state` asks getState(), any
# other path is fetched from instance `?instance=` (default video-42) of container `web`.
WORKER = """\
export * from "../_generated/containers";

interface Stub {
  fetch(request: Request): Promise<Response>;
  getState(): Promise<unknown>;
  lunoraExec(request: Request): Promise<Response>;
}
interface Namespace {
  idFromName(name: string): unknown;
  get(id: unknown): Stub;
}

export default {
  async fetch(request: Request, env: { CONTAINER_WEB: Namespace }): Promise<Response> {
    const url = new URL(request.url);
    const stub = env.CONTAINER_WEB.get(env.CONTAINER_WEB.idFromName(url.searchParams.get("instance") ?? "video-42"));
    if (url.pathname === "/state") {
      return Response.json(await stub.getState());
    }
    if (url.pathname === "/exec") {
      const body = JSON.stringify({ args: ["-c", "echo $GREETING from $(pwd)"], command: "sh", cwd: "/www" });
      return stub.lunoraExec(new Request("http://container/__lunora/exec", { method: "POST", body }));
    }
    return stub.fetch(new Request(`http://container${url.pathname}`, request));
  }
};
"""
BASE_CONFIG = {
    "name": "dev",
    "main": "src/index.ts",
    "compatibility_date": "2026-04-20",
}


def dev_worker(workdir: Path, manifest: str, keep_containers: bool) -> Path:
    """The Worker's files: the base config rendered with the container (local flavour)."""
    (workdir / "src").mkdir(parents=True)
    (workdir / "src" / "index.ts").write_text(WORKER)
    (workdir / "resources").mkdir()
    (workdir / "resources" / "web.yaml").write_text(manifest)
    config = workdir / "wrangler.jsonc"
    config.write_text(json.dumps(BASE_CONFIG, indent=2))
    write_output(
        render([workdir / "resources"], workdir, base=config, flavour="local", app_name="dev"), workdir
    )
    if not keep_containers:
        document = open_document(config.read_text(), "jsonc")
        document.remove(["containers"])
        config.write_text(document.text)
    return config


@contextmanager
def wrangler_dev(
    testenv: TestEnvironment,
    config: Path,
    router: Router,
    state: Path,
    *flags: str,
    extra_env: dict[str, str] | None = None,
) -> Iterator[httpx.Client]:
    port = free_port()
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("CLOUDFLARE_")}
    env = {
        **inherited,
        **(extra_env or {}),
        "CI": "true",
        "WRANGLER_SEND_METRICS": "false",
        "WRANGLER_HIDE_BANNER": "true",
        "WRANGLER_SEND_ERROR_REPORTS": "false",
        "XDG_CONFIG_HOME": str(state / "xdg"),
        "WRANGLER_LOG_PATH": str(state / "logs"),
        "WRANGLER_CACHE_DIR": str(state / "cache"),
        "TMPDIR": str(state),
    }
    log = state / "wrangler-dev.log"
    command = [
        str(testenv.node_tools / "node_modules" / ".bin" / "wrangler"), "dev", "-c", str(config),
        "--ip", "127.0.0.1", "--port", str(port), "--inspector-port", str(free_port()),
        "--persist-to", str(state / "persist"), "--var", f"LUNORA_ROUTER_URL:{router.url}", *flags,
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=config.parent, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                http.get("/state?instance=never-started")
                break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"wrangler dev did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield http
    finally:
        http.close()
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize(
    "keep_containers", [False, True], ids=["no-containers-in-config", "enable-containers-false"]
)
def test_a_worker_under_wrangler_dev_reaches_its_container_in_the_cluster(
    keep_containers: bool,
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    exec_helper_image: str,
    testenv: TestEnvironment,
    kube: KubeClients,
    namespace: str,
    tmp_path: Path,
) -> None:
    manifest = container_manifest("web", instance_image, env={"GREETING": "hello"})
    resources.apply(manifest)
    front = router("--exec-helper-image", exec_helper_image)
    config = dev_worker(tmp_path / "worker", manifest, keep_containers)
    flags = ["--enable-containers=false"] if keep_containers else []
    # With `containers[]` naming a registry image, wrangler 4.86 asks for Cloudflare credentials
    # before it looks at --enable-containers (it never uses them in dev): a developer who ran
    # `wrangler login` has some; here placeholders stand in, and no Cloudflare API call is made with them.
    credentials = (
        {"CLOUDFLARE_API_TOKEN": "unused-in-dev", "CLOUDFLARE_ACCOUNT_ID": "0" * 32}
        if keep_containers
        else {}
    )
    assert ("containers" in open_document(config.read_text(), "jsonc").get([])) is keep_containers

    with wrangler_dev(testenv, config, front, tmp_path, *flags, extra_env=credentials) as worker:
        never = worker.get("/state?instance=never-started")
        first = worker.get("/cgi-bin/whoami")
        again = worker.get("/cgi-bin/whoami")
        other = worker.get("/cgi-bin/whoami?instance=video-43")
        state = worker.get("/state")
        executed = worker.get("/exec")

    assert never.json()["status"] == "stopped"
    assert first.status_code == 200, first.text
    pods = {p["metadata"]["name"]: p for p in instance_pods(kube, namespace, "web")}
    pod = pods[first.text.strip()]
    assert pod["metadata"]["annotations"]["lunora.sh/instance-id"] == "video-42", (
        "named as the Worker named it"
    )
    assert again.text == first.text
    assert other.text != first.text
    assert state.json()["status"] == "healthy"
    assert executed.json() == {"code": 0, "stdout": "hello from /www\n", "stderr": ""}
