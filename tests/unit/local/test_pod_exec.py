"""The Pod exec client against a real WebSocket server on 127.0.0.1 that speaks the API server's
streaming protocol (channel byte first: 0 stdin, 1 stdout, 2 stderr, 3 status)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from kubernetes import client

from lunora_operator.local.pod_exec import PROTOCOLS, KubePodExecutor, PodExecFailed
from tests.unit.local.loopback import serving

Session = Callable[[web.WebSocketResponse, bytes], Awaitable[None]]


@dataclass
class FakeApiServer:
    session: Session
    requests: list[web.Request] = field(default_factory=list)
    stdin: list[bytes] = field(default_factory=list)
    refuse: int | None = None

    def app(self) -> web.Application:
        async def exec_(request: web.Request) -> web.StreamResponse:
            self.requests.append(request)
            if self.refuse is not None:
                return web.Response(status=self.refuse)
            ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",))
            await ws.prepare(request)
            first = await ws.receive_bytes()
            self.stdin.append(first)
            await self.session(ws, first)
            await ws.close()
            return ws

        app = web.Application()
        app.router.add_get("/api/v1/namespaces/{ns}/pods/{pod}/exec", exec_)
        return app


@asynccontextmanager
async def executor_for(server: FakeApiServer, token: str | None = None) -> AsyncIterator[KubePodExecutor]:
    async with serving(server.app()) as port:
        configuration = client.Configuration()
        configuration.host = f"http://127.0.0.1:{port}"
        if token is not None:  # as the in-cluster loader keeps a service account's token
            configuration.api_key = {"BearerToken": f"bearer {token}"}
        executor = KubePodExecutor(configuration, "team a")
        try:
            yield executor
        finally:
            await executor.close()


def frame(channel: int, payload: bytes) -> bytes:
    return bytes([channel]) + payload


async def helper_answers(ws: web.WebSocketResponse, stdin: bytes) -> None:
    await ws.send_bytes(frame(1, b""))  # the API server may open a channel with an empty frame
    await ws.send_bytes(frame(1, b'200\n{"code":0,'))
    await ws.send_bytes(frame(2, b"a warning\n"))
    await ws.send_bytes(frame(1, b'"stdout":"x","stderr":""}'))
    await ws.send_bytes(frame(3, json.dumps({"metadata": {}, "status": "Success"}).encode()))


async def test_the_command_goes_in_the_query_and_the_request_on_stdin() -> None:
    server = FakeApiServer(helper_answers)
    async with executor_for(server, token="t0ken") as executor:
        result = await executor.run(
            "web-1-r1", "instance", ["/.lunora/exec", "run"], b'{"command":"ls"}\n', 100, 10
        )

    request = server.requests[0]
    assert request.raw_path.split("?")[0] == "/api/v1/namespaces/team%20a/pods/web-1-r1/exec"
    assert request.query.getall("command") == ["/.lunora/exec", "run"]
    assert request.query["container"] == "instance"
    assert (request.query["stdin"], request.query["stdout"], request.query["stderr"]) == ("true",) * 3
    assert request.headers["Authorization"] == "bearer t0ken"
    assert [p.strip() for p in request.headers["Sec-WebSocket-Protocol"].split(",")] == list(PROTOCOLS)
    assert server.stdin == [b'\x00{"command":"ls"}\n']
    assert result.succeeded
    assert result.stdout == b'200\n{"code":0,"stdout":"x","stderr":""}'
    assert result.stderr == b"a warning\n"


async def test_a_failure_status_is_returned_for_the_caller_to_explain() -> None:
    async def fails(ws: web.WebSocketResponse, stdin: bytes) -> None:
        status = {"status": "Failure", "reason": "InternalError", "message": "no such file"}
        await ws.send_bytes(frame(3, json.dumps(status).encode()))

    async with executor_for(FakeApiServer(fails)) as executor:
        result = await executor.run("p", "instance", ["x"], b"\n", 100, None)

    assert not result.succeeded
    assert result.status["message"] == "no such file"


async def test_more_output_than_the_limit_is_refused() -> None:
    async def floods(ws: web.WebSocketResponse, stdin: bytes) -> None:
        for _ in range(5):
            await ws.send_bytes(frame(1, b"x" * 40))

    async with executor_for(FakeApiServer(floods)) as executor:
        with pytest.raises(PodExecFailed, match="wrote more than 100 bytes"):
            await executor.run("p", "instance", ["x"], b"\n", 100, None)


async def test_a_stream_without_a_status_is_a_failure() -> None:
    async def vanishes(ws: web.WebSocketResponse, stdin: bytes) -> None:
        await ws.send_bytes(frame(1, b"partial"))

    async with executor_for(FakeApiServer(vanishes)) as executor:
        with pytest.raises(PodExecFailed, match="ended without a status"):
            await executor.run("p", "instance", ["x"], b"\n", 100, None)


async def test_a_stalled_exec_fails_after_its_time_limit() -> None:
    async def stalls(ws: web.WebSocketResponse, stdin: bytes) -> None:
        await ws.receive()  # nothing is sent until the client gives up and closes

    async with executor_for(FakeApiServer(stalls)) as executor:
        with pytest.raises(PodExecFailed, match=r"did not end within 0\.2s"):
            await executor.run("p", "instance", ["x"], b"\n", 100, 0.2)


@pytest.mark.parametrize(
    ("status", "words"), [(403, "needs `create` on `pods/exec`"), (404, "Pod p is gone"), (400, "refused")]
)
async def test_a_refused_exec_says_why(status: int, words: str) -> None:
    server = FakeApiServer(helper_answers, refuse=status)
    async with executor_for(server) as executor:
        with pytest.raises(PodExecFailed, match=words.replace("`", ".")):
            await executor.run("p", "instance", ["x"], b"\n", 100, None)


async def test_a_configuration_with_the_older_authorization_key_sends_its_token_too() -> None:
    server = FakeApiServer(helper_answers)
    async with serving(server.app()) as port:
        configuration = client.Configuration()
        configuration.host = f"http://127.0.0.1:{port}"
        configuration.api_key = {"authorization": "t0ken"}
        configuration.api_key_prefix = {"authorization": "Bearer"}
        executor = KubePodExecutor(configuration, "ns")
        try:
            await executor.run("web-1-r1", "instance", ["/.lunora/exec", "run"], b"{}\n", 100, 10)
        finally:
            await executor.close()

    assert server.requests[0].headers["Authorization"] == "Bearer t0ken"
