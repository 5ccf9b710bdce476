"""exec against a real server (items 72–90, 93, 94): wire body, results, error texts, budgets, deadlines."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from lunora_operator.client import Containers, ExecResult, LunoraError
from tests.unit.client.conformance.server import (
    ConformanceServer,
    drop_connection,
    drop_mid_body,
    json_reply,
    sequence,
    stall_body,
    stall_headers,
    status,
)
from tests.unit.client.support import NO_INSTANCE_TEXT, ManualClock, RecordingClock

OK = {"code": 0, "stdout": "out", "stderr": "err"}


async def test_item_72_exec_posts_json_and_returns_the_result(
    server: ConformanceServer, containers: Containers
) -> None:
    server.exec_responder = json_reply(OK)
    result = await containers["runner"].get("s").exec("ls")
    assert result == ExecResult(code=0, stdout="out", stderr="err")
    [seen] = server.exec_calls()
    assert (seen.method, seen.container, seen.instance) == ("POST", "runner", "s")
    assert seen.headers["content-type"] == "application/json"
    assert server.instance_calls() == []  # never through the instance's own routes


async def test_item_73_optional_fields_are_sent_only_when_set(server: ConformanceServer) -> None:
    server.exec_responder = json_reply(OK)
    async with Containers(server.base_url, clock=ManualClock()) as client:
        handle = client["runner"].get("s")
        await handle.exec("ls")
        await handle.exec("ls", args=["-l", "/tmp"], cwd="/work", env={"A": "1"}, timeout_ms=250)
    first, second = server.exec_calls()
    assert first.body == b'{"args":[],"command":"ls"}'
    assert json.loads(second.body) == {
        "args": ["-l", "/tmp"],
        "command": "ls",
        "cwd": "/work",
        "env": {"A": "1"},
        "timeoutMs": 250,
    }
    assert list(json.loads(second.body)) == ["args", "command", "cwd", "env", "timeoutMs"]


async def test_item_74_a_non_zero_code_is_a_result(server: ConformanceServer, containers: Containers) -> None:
    server.exec_responder = json_reply({"code": 2, "stdout": "", "stderr": "no such file"})
    assert await containers["runner"].get("s").exec("ls") == ExecResult(2, "", "no such file")


async def test_item_75_a_runner_404_is_an_error_quoting_the_body(
    server: ConformanceServer, containers: Containers
) -> None:
    server.exec_responder = status(404, "no route here")
    with pytest.raises(LunoraError) as raised:
        await containers["runner"].get("s").exec("ls")
    assert raised.value.code == "INTERNAL"
    assert str(raised.value) == (
        "ctx.containers.runner: exec failed — the container answered 404 for POST /__lunora/exec. "
        "Does it serve that route? Body: no route here"
    )


async def test_the_quoted_body_is_capped_at_512_bytes(
    server: ConformanceServer, containers: Containers
) -> None:
    server.exec_responder = status(500, "e" * 5000)
    with pytest.raises(LunoraError) as raised:
        await containers["runner"].get("s").exec("ls")
    assert str(raised.value).endswith("Body: " + "e" * 512)


async def test_item_76_a_non_json_reply_is_an_error(
    server: ConformanceServer, containers: Containers
) -> None:
    server.exec_responder = status(200, "<html>")
    with pytest.raises(LunoraError, match="exec response was not JSON"):
        await containers["runner"].get("s").exec("ls")


@pytest.mark.parametrize("payload", [{"stdout": "x"}, {"code": "0"}, {"code": True}, [0], None])
async def test_item_77_a_reply_without_a_numeric_code_is_an_error(
    server: ConformanceServer, containers: Containers, payload: object
) -> None:
    server.exec_responder = json_reply(payload)
    with pytest.raises(LunoraError, match="missing a numeric `code`"):
        await containers["runner"].get("s").exec("ls")


async def test_item_78_missing_streams_default_to_empty(
    server: ConformanceServer, containers: Containers
) -> None:
    server.exec_responder = json_reply({"code": 0, "stdout": 5})
    assert await containers["runner"].get("s").exec("ls") == ExecResult(0, "", "")


@pytest.mark.parametrize("command", ["", None, 5])
async def test_item_79_an_empty_command_is_refused_before_any_request(
    server: ConformanceServer, containers: Containers, command: object
) -> None:
    with pytest.raises(LunoraError, match="exec requires a non-empty `command`") as raised:
        await containers["runner"].get("s").exec(command)  # type: ignore[arg-type]
    assert raised.value.code == "BAD_REQUEST"
    assert server.seen == []


async def test_item_80_exec_on_any_pool_and_port(server: ConformanceServer, containers: Containers) -> None:
    server.exec_responder = json_reply(OK)
    accessor = containers["runner"]
    await accessor.any().exec("ls")
    await accessor.pool().exec("ls")
    await accessor.get("s").port(9090).exec("ls")
    await accessor.pool().port(9091).exec("ls")
    seen = server.exec_calls()
    assert [s.instance for s in seen] == ["pool-0", "pool-0", "s", "pool-0"]
    assert [s.headers.get("cf-container-target-port") for s in seen] == [None, None, "9090", "9091"]


async def _started(server: ConformanceServer, task: asyncio.Task[ExecResult]) -> None:
    stalled = asyncio.create_task(server.stalled.wait())
    done, _ = await asyncio.wait({stalled, task}, return_when=asyncio.FIRST_COMPLETED)
    assert stalled in done, "the exec finished before the server stalled"


async def test_item_81_a_timeout_covers_the_headers(server: ConformanceServer) -> None:
    clock = ManualClock()
    server.exec_responder = stall_headers(server)
    async with Containers(server.base_url, clock=clock) as client:
        task = asyncio.create_task(client["runner"].get("s").exec("sleep", timeout_ms=250))
        await _started(server, task)
        clock.advance(249)
        await asyncio.sleep(0)
        assert not task.done()
        clock.advance(1)
        with pytest.raises(LunoraError, match=r"^ctx\.containers: exec timed out after 250ms$"):
            await task


async def test_item_82_the_timeout_covers_a_stalled_body(server: ConformanceServer) -> None:
    clock = ManualClock()
    server.exec_responder = stall_body(server)
    async with Containers(server.base_url, clock=clock) as client:
        task = asyncio.create_task(client["runner"].get("s").exec("sleep", timeout_ms=250))
        await _started(server, task)
        clock.advance(250)
        with pytest.raises(LunoraError, match="exec timed out after 250ms"):
            await task


@pytest.mark.parametrize("stall", [stall_headers, stall_body])
async def test_items_83_87_a_caller_cancel_keeps_the_callers_reason(
    server: ConformanceServer, stall: object
) -> None:
    """Items 83 and 87: the caller's cancellation (Python's abort signal) stops a slow exec with its reason."""
    server.exec_responder = stall(server)  # type: ignore[operator]
    async with Containers(server.base_url, clock=ManualClock()) as client:
        task = asyncio.create_task(client["runner"].get("s").exec("sleep"))
        await _started(server, task)
        task.cancel("caller gave up")
        with pytest.raises(asyncio.CancelledError, match="caller gave up"):
            await task


async def test_item_88_the_first_of_cancel_and_timeout_wins(server: ConformanceServer) -> None:
    clock = ManualClock()
    server.exec_responder = stall_body(server)
    async with Containers(server.base_url, clock=clock) as client:
        task = asyncio.create_task(client["runner"].get("s").exec("sleep", timeout_ms=1000))
        await _started(server, task)
        task.cancel("caller first")
        clock.advance(1000)
        with pytest.raises(asyncio.CancelledError, match="caller first"):
            await task

        server.stalled.clear()
        task = asyncio.create_task(client["runner"].get("s").exec("sleep", timeout_ms=1000))
        await _started(server, task)
        clock.advance(1000)
        await asyncio.wait({task})
        assert not task.cancel("caller second")
        with pytest.raises(LunoraError, match="timed out after 1000ms"):
            await task


async def test_an_exec_within_its_timeout_is_not_cut(server: ConformanceServer) -> None:
    clock = ManualClock()
    server.exec_responder = json_reply(OK)
    async with Containers(server.base_url, clock=clock) as client:
        assert (await client["runner"].get("s").exec("ls", timeout_ms=10)).code == 0
        clock.advance(100)  # the finished call's timer is gone: nothing fires later
        await asyncio.sleep(0)
        assert (await client["runner"].get("s").exec("ls")).code == 0


async def test_item_84_a_reply_over_max_output_bytes_is_abandoned(
    server: ConformanceServer, containers: Containers
) -> None:
    server.exec_responder = json_reply({"code": 0, "stdout": "x" * 2048})
    with pytest.raises(LunoraError, match="exec response exceeded 512 bytes and was abandoned"):
        await containers["runner"].get("s").exec("cat", max_output_bytes=512)
    result = await containers["runner"].get("s").exec("cat", max_output_bytes=64 * 1024)
    assert result.stdout == "x" * 2048


async def test_item_85_the_default_cap_is_1_000_000_bytes(
    server: ConformanceServer, containers: Containers
) -> None:
    server.exec_responder = json_reply({"code": 0, "stdout": "x" * 1_500_000})
    with pytest.raises(LunoraError, match="exceeded 1000000 bytes"):
        await containers["runner"].get("s").exec("cat")
    server.exec_responder = json_reply({"code": 0, "stdout": "x" * 999_000})
    assert len((await containers["runner"].get("s").exec("cat")).stdout) == 999_000


async def test_item_86_per_call_env_values_are_redacted_from_a_quoted_body(
    server: ConformanceServer, containers: Containers
) -> None:
    async def echo(request, seen):  # type: ignore[no-untyped-def]
        return await status(400, f"bad payload: {seen.body.decode()}")(request, seen)

    server.exec_responder = echo
    with pytest.raises(LunoraError) as raised:
        await containers["runner"].get("s").exec("deploy", env={"TOKEN": "s3cr3t-value", "EMPTY": ""})
    assert "s3cr3t-value" not in str(raised.value)
    assert '"TOKEN":"<redacted>"' in str(raised.value)


async def test_item_89_a_pooled_exec_is_not_rerun_on_a_runner_500(
    server: ConformanceServer, containers: Containers
) -> None:
    server.exec_responder = status(500, "runner crashed")
    with pytest.raises(
        LunoraError, match=r"ctx\.containers\.runner\.pool\(\): exec failed — the container answered 500"
    ):
        await containers["runner"].pool().exec("publish")
    assert len(server.exec_calls()) == 1
    server.responder = status(500, "app error")
    await containers["runner"].pool().fetch("/")
    assert len(server.instance_calls()) == 3


async def test_item_90_a_pooled_exec_is_retried_on_a_cold_start(
    server: ConformanceServer, containers: Containers, clock: RecordingClock
) -> None:
    server.exec_responder = sequence(status(503, NO_INSTANCE_TEXT), status(429), json_reply(OK))
    assert (await containers["runner"].pool().exec("ls")).stdout == "out"
    assert len(server.exec_calls()) == 3
    assert clock.waits == [100, 200]


async def test_exec_on_a_named_instance_rides_the_cold_start_retry(
    server: ConformanceServer, containers: Containers, clock: RecordingClock
) -> None:
    server.exec_responder = sequence(status(503, NO_INSTANCE_TEXT), json_reply(OK))
    assert (await containers["runner"].get("s").exec("ls")).code == 0
    assert [s.instance for s in server.exec_calls()] == ["s", "s"]
    assert clock.waits == [500]


@pytest.mark.parametrize("limit", [float("nan"), float("inf"), -1, 0, 1.5, "10", True])
async def test_item_93_max_output_bytes_must_be_a_positive_whole_number(
    server: ConformanceServer, containers: Containers, limit: object
) -> None:
    with pytest.raises(LunoraError, match="must be a positive whole number") as raised:
        await containers["runner"].get("s").exec("ls", max_output_bytes=limit)  # type: ignore[arg-type]
    assert raised.value.code == "BAD_REQUEST"
    assert server.seen == []


async def test_item_93_texts_name_nan_and_infinity_as_javascript_does(containers: Containers) -> None:
    with pytest.raises(LunoraError, match=r"got NaN$"):
        await containers["runner"].get("s").exec("ls", max_output_bytes=float("nan"))  # type: ignore[arg-type]
    with pytest.raises(LunoraError, match=r"got Infinity$"):
        await containers["runner"].get("s").exec("ls", max_output_bytes=float("inf"))  # type: ignore[arg-type]


@pytest.mark.parametrize("drop", [drop_mid_body, drop_connection])
async def test_item_94_a_pooled_exec_is_not_rerun_after_a_connection_loss(
    server: ConformanceServer, containers: Containers, drop: object
) -> None:
    server.exec_responder = drop()  # type: ignore[operator]
    with pytest.raises(httpx.HTTPError):
        await containers["runner"].pool().exec("publish")
    assert len(server.exec_calls()) == 1
