"""The Python client against `lunora-operator router` with real instance Pods on the node: `.get`
sticks to one Pod, `.pool` retries onto a healthy instance, `.port` reaches another port,
lifecycle calls change what the instance does, and exec runs real commands in the Pod through
the exec helper — the exit code, stdout and stderr, the call's env over the start env, cwd, and
the timeout and output budget enforced by killing the command (504, 413). Numbers in names are
items of Lunora's conformance checklist."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from lunora_operator.client import Containers, InstanceHandle, LunoraError
from tests.e2e.local.conftest import Router, container_manifest, live_pods
from tests.support.kube import KubeClients
from tests.support.operator import Resources

pytest_plugins = ["tests.support.operator_fixtures"]


def picks(*values: float) -> Callable[[], float]:
    """`Containers(random=...)`: pool instances in this order."""
    numbers: Iterator[float] = iter(values)
    return lambda: next(numbers)


async def until_stopped(job: InstanceHandle) -> dict[str, Any]:
    """The state once the watch has seen the run end (the Pod gets SIGTERM, then goes)."""
    deadline = time.monotonic() + 30
    while (state := await job.get_state())["status"] not in ("stopped", "stopped_with_code"):
        assert time.monotonic() < deadline, f"still {state} 30 s after stop()"
        await asyncio.sleep(0.1)
    return state


def raw_exec(front: Router, container: str, instance: str, body: object) -> httpx.Response:
    return front.http.post(f"/_api/containers/{container}/instances/{instance}/exec", json=body)


async def test_43_53_get_sticks_to_one_pod_any_picks_once_and_port_reaches_another_port(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    namespace: str,
) -> None:
    resources.apply(container_manifest("web", instance_image, maxInstances=3, env={"PORTS": "8080 9090"}))
    front = router()

    async with Containers(front.url, random=picks(0.5)) as containers:
        web = containers["web"]
        first = {(await web.get("video-42").fetch("/cgi-bin/whoami")).text for _ in range(3)}
        other = (await web.get("video-43").fetch("/cgi-bin/whoami")).text
        default_port = (await web.get("video-42").fetch("/cgi-bin/env")).text
        other_port = (await web.get("video-42").port(9090).fetch("/cgi-bin/env")).text
        anywhere = web.any()
        picked = {(await anywhere.fetch("/cgi-bin/whoami")).text for _ in range(3)}

    assert len(first) == 1, "the same name always reaches the same Pod"
    assert other not in first
    assert "LISTEN_PORT=8080" in default_port
    assert "LISTEN_PORT=9090" in other_port
    assert anywhere.instance == "pool-1"
    assert len(picked) == 1, ".any() picks its instance once"
    assert len(live_pods(kube, namespace, "web")) == 3


async def test_55_a_pool_retry_lands_on_a_healthy_instance(
    resources: Resources, router: Callable[..., Router], instance_image: str
) -> None:
    resources.apply(container_manifest("pool", instance_image, maxInstances=3))
    front = router()
    for sick in ("pool-0", "pool-1"):  # /cgi-bin/ready answers 503 for a day
        started = front.http.post(
            f"/_api/containers/pool/instances/{sick}/start", json={"envVars": {"READY_AFTER": "86400"}}
        )
        assert started.status_code == 200, started.text

    async with Containers(front.url, random=picks(0.0, 0.4, 0.9, 0.0)) as containers:
        retried = await containers["pool"].pool().fetch("/cgi-bin/ready")
        once = await containers["pool"].pool(attempts=1).fetch("/cgi-bin/ready")

    assert (retried.status_code, retried.text) == (200, "ready\n"), (
        "pool-0 and pool-1 answered 503, pool-2 200"
    )
    assert once.status_code == 503, "without a retry the sick pool-0 answers"


async def test_50_122_124_lifecycle_calls_change_what_the_instance_does(
    resources: Resources, router: Callable[..., Router], instance_image: str
) -> None:
    resources.apply(container_manifest("life", instance_image, env={"GREETING": "declared"}))
    front = router()

    async with Containers(front.url) as containers:
        job = containers["life"].get("job-1")
        await job.start(env_vars={"GREETING": "override"})
        started = await job.get_state()
        first_pod = (await job.fetch("/cgi-bin/whoami")).text
        overridden = (await job.fetch("/cgi-bin/env")).text
        with pytest.raises(LunoraError) as conflict:
            await job.start(env_vars={"GREETING": "other"})
        await job.renew_activity_timeout()
        await job.stop()
        await until_stopped(job)
        second_pod = (await job.fetch("/cgi-bin/whoami")).text
        kept = (await job.fetch("/cgi-bin/env")).text
        await job.destroy()
        declared = (await job.fetch("/cgi-bin/env")).text

    assert started["status"] == "running", "start() does not wait for the ports"
    assert "GREETING=override" in overridden
    assert conflict.value.code == "CONFLICT"
    assert second_pod != first_pod, "after stop() the next request starts a new Pod"
    assert "GREETING=override" in kept, "the start override outlives the run"
    assert "GREETING=declared" in declared, "destroy() dropped the override"


async def test_72_74_exec_runs_a_real_command_with_env_cwd_and_its_exit_code(
    resources: Resources, router: Callable[..., Router], instance_image: str, exec_helper_image: str
) -> None:
    resources.apply(container_manifest("runner", instance_image, env={"GREETING": "declared"}))
    front = router("--exec-helper-image", exec_helper_image)

    async with Containers(front.url) as containers:
        job = containers["runner"].get("job-1")
        result = await job.exec("sh", args=["-c", "echo out; echo err >&2; exit 3"])
        env = await job.exec("sh", args=["-c", 'echo "$CALL/$GREETING"'], env={"CALL": "per-call"})
        replaced = await job.exec("sh", args=["-c", 'echo "$GREETING"'], env={"GREETING": "per-call"})
        pwd = await job.exec("pwd", cwd="/www/cgi-bin")
        relative = await job.exec("ls", cwd="/www/cgi-bin")
        missing = await job.exec("no-such-command")
        pooled = await containers["runner"].pool().exec("hostname")

    assert (result.code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert env.stdout == "per-call/declared\n", "the instance's start env plus the call's env"
    assert replaced.stdout == "per-call\n"
    assert pwd.stdout == "/www/cgi-bin\n"
    assert relative.stdout.split() == ["env", "ready", "whoami"]
    assert missing.code == 127
    assert "not found" in missing.stderr
    assert pooled.code == 0
    assert pooled.stdout.strip().startswith("runner-")


async def test_81_84_exec_timeouts_and_oversized_output_kill_the_command(
    resources: Resources, router: Callable[..., Router], instance_image: str, exec_helper_image: str
) -> None:
    resources.apply(container_manifest("runner", instance_image))
    front = router("--exec-helper-image", exec_helper_image)

    # Not `sh -c "sleep 37"`, which the shell would exec in its own place: here sleep is the
    # shell's child, which only a kill of the whole process group ends.
    timed_out = raw_exec(
        front, "runner", "job-1", {"args": ["-c", "sleep 37; echo never"], "command": "sh", "timeoutMs": 1000}
    )
    too_big = raw_exec(
        front, "runner", "job-1", {"args": ["-c", "head -c 1100000 /dev/zero"], "command": "sh"}
    )
    bad_json = front.http.post(
        "/_api/containers/runner/instances/job-1/exec",
        content=b"{",
        headers={"content-type": "application/json"},
    )
    empty = raw_exec(front, "runner", "job-1", {"args": [], "command": ""})
    async with Containers(front.url) as containers:
        job = containers["runner"].get("job-1")
        processes = await job.exec("ps")
        with pytest.raises(LunoraError, match="the container answered 413"):
            await job.exec("head", args=["-c", "1100000", "/dev/zero"])
        with pytest.raises(LunoraError, match="exceeded 512 bytes and was abandoned"):
            await job.exec("head", args=["-c", "600", "/dev/zero"], max_output_bytes=512)

    assert timed_out.status_code == 504
    assert timed_out.json()["message"] == "exec timed out after 1000ms; the command was killed"
    assert "sleep 37" not in processes.stdout, "the timed-out command was killed, not left running"
    assert too_big.status_code == 413
    assert "exceeded 1000000 bytes" in too_big.json()["message"]
    assert bad_json.status_code == 400
    assert empty.status_code == 400
    assert empty.json()["message"] == "exec requires a non-empty `command`"


async def test_exec_works_in_an_image_without_a_shell(
    resources: Resources, router: Callable[..., Router], shellless_image: str, exec_helper_image: str
) -> None:
    resources.apply(container_manifest("bare", shellless_image))
    front = router("--exec-helper-image", exec_helper_image)

    async with Containers(front.url) as containers:
        job = containers["bare"].get("job-1")
        crashed = await job.exec("wsecho")  # found on PATH; without its port argument it panics
        no_dir = await job.exec("/bin/wsecho", cwd="/no/such/dir")

    assert crashed.code == 2
    assert "index out of range" in crashed.stderr
    assert no_dir.code == 126
    assert "/no/such/dir" in no_dir.stderr


async def test_exec_without_the_helper_is_refused_with_the_flag_to_set(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    namespace: str,
) -> None:
    resources.apply(container_manifest("runner", instance_image))
    front = router()

    refused = raw_exec(front, "runner", "job-1", {"args": [], "command": "ls"})

    assert refused.status_code == 501
    assert "--exec-helper-image" in refused.json()["message"]
    assert live_pods(kube, namespace, "runner") == [], "nothing was started for it"
