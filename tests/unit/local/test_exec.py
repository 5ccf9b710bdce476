"""Exec on the router's own API: the body checked as Lunora's runner checks it (400), the call handed
to the exec helper in the instance's Pod over the Pod exec's stdin, and the helper's answer relayed
(200 / 413 / 504); a router or Pod without the helper answers 501. The Pod exec itself is a
recording stand-in here; tests/e2e/local/test_client.py runs the real one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from lunora_operator.local import exec_helper, texts
from lunora_operator.local.exec import MAX_OUTPUT_BYTES, BadExec, parse_exec_body
from lunora_operator.local.lifecycle_api import Services
from lunora_operator.local.pod_exec import PodExecFailed, PodExecResult
from lunora_operator.local.pod_spec import CONTAINER_NAME, PodSettings
from tests.unit.local.loopback import config, router_for, serving, upstream

EXEC = "/_api/containers/web/instances/job-1/exec"
WITH_HELPER = PodSettings(exec_helper_image="registry.local/lunora-exec:1")
SUCCESS = {"metadata": {}, "status": "Success"}


@dataclass
class RecordingExecutor:
    """Answers every exec with `answer`; records what it was asked."""

    answer: bytes = b'200\n{"code":0,"stdout":"hi\\n","stderr":""}'
    status: dict[str, object] = field(default_factory=lambda: dict(SUCCESS))
    failure: str | None = None
    calls: list[tuple[str, str, tuple[str, ...], bytes, int, float | None]] = field(default_factory=list)
    hold: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(
        self,
        pod: str,
        container: str,
        command: Sequence[str],
        stdin: bytes,
        stdout_limit: int,
        time_limit: float | None,
    ) -> PodExecResult:
        self.calls.append((pod, container, tuple(command), stdin, stdout_limit, time_limit))
        self.started.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.failure is not None:
            raise PodExecFailed(self.failure)
        return PodExecResult(self.answer, b"", self.status)

    async def close(self) -> None:
        pass


# --- the body --------------------------------------------------------------------------------


def test_72_73_the_wire_body_is_parsed_with_only_what_was_sent() -> None:
    plain = parse_exec_body(b'{"args":[],"command":"ls"}')
    full = parse_exec_body(b'{"args":["-l"],"command":"ls","cwd":"/tmp","env":{"A":"1"},"timeoutMs":250}')

    assert (plain.command, plain.args, plain.cwd, plain.env, plain.timeout_ms) == ("ls", (), None, None, None)
    assert (full.args, full.cwd, full.env, full.timeout_ms) == (("-l",), "/tmp", {"A": "1"}, 250)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "the exec body is not JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"args":[]}', "exec requires a non-empty `command`"),
        (b'{"args":[],"command":""}', "exec requires a non-empty `command`"),
        (b'{"args":"-l","command":"ls"}', "`args` must be a list of strings"),
        (b'{"args":[1],"command":"ls"}', "`args` must be a list of strings"),
        (b'{"command":"ls","cwd":""}', "`cwd` must be a non-empty string"),
        (b'{"command":"ls","env":{"A":1}}', "`env` must map variable names to string values"),
        (b'{"command":"ls","env":{"A=B":"1"}}', "`env` must map variable names to string values"),
        (b'{"command":"ls","timeoutMs":0}', "`timeoutMs` must be a positive number"),
        (b'{"command":"ls","timeoutMs":true}', "`timeoutMs` must be a positive number"),
        (b'{"command":"ls","timeoutMs":"5"}', "`timeoutMs` must be a positive number"),
        (b'{"command":"l\\u0000s"}', "cannot hold NUL characters"),
    ],
)
def test_79_a_bad_body_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(BadExec, match=message.replace("`", ".").replace("(", r"\(")):
        parse_exec_body(body)


def test_env_values_travel_on_stdin_with_the_output_budget() -> None:
    line = parse_exec_body(b'{"command":"env","env":{"TOKEN":"s3cret"},"timeoutMs":500}').helper_line(10)

    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1, "one line: the helper reads up to the newline"
    assert json.loads(line) == {
        "command": "env",
        "args": [],
        "maxOutputBytes": 10,
        "env": {"TOKEN": "s3cret"},
        "timeoutMs": 500,
    }


# --- the route -------------------------------------------------------------------------------


async def test_72_exec_runs_the_helper_in_the_instance_pod_and_relays_its_answer() -> None:
    executor = RecordingExecutor()
    async with (
        serving(await upstream()) as port,
        router_for(
            config(default_port=port), services=Services(executor=executor), pod_settings=WITH_HELPER
        ) as (client, fleet, _),
    ):
        response = await client.post(
            EXEC, json={"args": ["-c", "echo hi"], "command": "sh", "env": {"TOKEN": "s3cret"}}
        )
        body = await response.json()

        assert response.status == 200
        assert body == {"code": 0, "stdout": "hi\n", "stderr": ""}
        pod, container, command, stdin, limit, time_limit = executor.calls[0]
        assert pod == fleet.instance("web", "job-1").pod.name  # type: ignore[union-attr]
        assert container == CONTAINER_NAME
        assert command == exec_helper.RUN_COMMAND
        assert b"s3cret" not in "".join(command).encode(), "env values never on the command line"
        assert json.loads(stdin)["env"] == {"TOKEN": "s3cret"}
        assert json.loads(stdin)["maxOutputBytes"] == MAX_OUTPUT_BYTES
        assert limit > MAX_OUTPUT_BYTES
        assert time_limit is None, "no timeoutMs: the command runs as long as it runs"


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (b'413\n{"code":"PAYLOAD_TOO_LARGE","message":"exec output exceeded 1000000 bytes"}', 413),
        (b'504\n{"code":"TIMEOUT","message":"exec timed out after 250ms"}', 504),
        (b'200\n{"code":3,"stdout":"","stderr":"no\\n"}', 200),
    ],
)
async def test_84_81_74_the_helpers_status_is_the_answer(answer: bytes, status: int) -> None:
    executor = RecordingExecutor(answer=answer)
    async with (
        serving(await upstream()) as port,
        router_for(
            config(default_port=port), services=Services(executor=executor), pod_settings=WITH_HELPER
        ) as (client, _, _),
    ):
        response = await client.post(EXEC, json={"args": [], "command": "x", "timeoutMs": 250})

        assert response.status == status
        assert await response.read() == answer.partition(b"\n")[2]
        assert executor.calls[0][5] == pytest.approx(0.25 + 30), "the router waits past the helper's deadline"


async def test_a_bad_body_gets_400_before_anything_starts() -> None:
    executor = RecordingExecutor()
    async with router_for(config(), services=Services(executor=executor), pod_settings=WITH_HELPER) as (
        client,
        _,
        kube,
    ):
        response = await client.post(EXEC, data=b"{", headers={"content-type": "application/json"})

        assert response.status == 400
        assert (await response.json())["code"] == "BAD_REQUEST"
        assert kube.created == []
        assert executor.calls == []


async def test_without_a_helper_image_exec_answers_501_naming_the_flag() -> None:
    async with router_for(config()) as (client, _, kube):
        response = await client.post(EXEC, json={"args": [], "command": "ls"})

        assert response.status == 501
        assert "--exec-helper-image" in (await response.json())["message"]
        assert kube.created == []


async def test_a_pod_started_without_the_helper_answers_501() -> None:
    executor = RecordingExecutor()
    async with (
        serving(await upstream()) as port,
        router_for(config(default_port=port), services=Services(executor=executor)) as (client, _, _),
    ):
        response = await client.post(EXEC, json={"args": [], "command": "ls"})

        assert response.status == 501
        assert "started without the exec helper" in (await response.json())["message"]
        assert executor.calls == []


@pytest.mark.parametrize(
    ("executor", "words"),
    [
        (RecordingExecutor(failure="Pod web-x-r1 is gone (404)"), "Pod web-x-r1 is gone"),
        (
            RecordingExecutor(
                status={"status": "Failure", "message": 'exec: "/.lunora/exec": no such file or directory'}
            ),
            'could not run: exec: "/.lunora/exec"',
        ),
        (RecordingExecutor(answer=b"garbage"), "answered something else than a status line"),
    ],
)
async def test_a_broken_exec_is_a_500_saying_why(executor: RecordingExecutor, words: str) -> None:
    async with (
        serving(await upstream()) as port,
        router_for(
            config(default_port=port), services=Services(executor=executor), pod_settings=WITH_HELPER
        ) as (client, _, _),
    ):
        response = await client.post(EXEC, json={"args": [], "command": "ls"})

        assert response.status == 500
        assert words in (await response.json())["message"]


async def test_90_an_instance_that_cannot_start_gets_the_platforms_cold_start_answer() -> None:
    executor = RecordingExecutor()
    async with router_for(
        config(image=None), services=Services(executor=executor), pod_settings=WITH_HELPER
    ) as (client, _, _):
        response = await client.post(EXEC, json={"args": [], "command": "ls"})

        assert response.status == 503
        assert await response.text() == texts.NO_INSTANCE.text
        assert executor.calls == []


async def test_an_exec_counts_as_in_flight_until_it_ends() -> None:
    executor = RecordingExecutor(hold=asyncio.Event())
    async with (
        serving(await upstream()) as port,
        router_for(
            config(default_port=port), services=Services(executor=executor), pod_settings=WITH_HELPER
        ) as (client, fleet, _),
    ):
        pending = asyncio.ensure_future(client.post(EXEC, json={"args": [], "command": "sleep"}))
        await executor.started.wait()
        busy = fleet.instance("web", "job-1").inflight
        assert executor.hold is not None
        executor.hold.set()
        await pending

        assert busy == 1, "sleepAfter cannot stop an instance while an exec runs"
        assert fleet.instance("web", "job-1").inflight == 0


async def test_125_exec_is_never_reachable_under_the_instances_own_paths() -> None:
    executor = RecordingExecutor()
    async with router_for(config(), services=Services(executor=executor), pod_settings=WITH_HELPER) as (
        client,
        _,
        kube,
    ):
        response = await client.post("/web/job-1/__lunora/exec", json={"args": [], "command": "ls"})

        assert response.status == 403
        assert executor.calls == []
        assert kube.created == []


async def test_a_container_is_reached_by_its_export_name_too() -> None:
    executor = RecordingExecutor()
    async with (
        serving(await upstream()) as port,
        router_for(
            config("image-resizer", export_name="imageResizer", default_port=port),
            services=Services(executor=executor),
            pod_settings=WITH_HELPER,
        ) as (client, fleet, _),
    ):
        by_export = await client.post(
            "/_api/containers/imageResizer/instances/a/exec", json={"args": [], "command": "ls"}
        )
        state = await client.get("/_api/containers/image-resizer/instances/a/state")

        assert by_export.status == 200
        assert (await state.json())["status"] == "healthy", "one instance, whichever name reached it"
        assert fleet.instance("imageResizer", "a") is fleet.instance("image-resizer", "a")
