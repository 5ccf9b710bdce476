"""The router's listening side: keep-alive and pipelined requests answered in order, an Upgrade
handed to the aiohttp application even mid-connection (WebSockets bridged frame by frame there),
the lifecycle API reached through the same connections, and malformed requests refused."""

from __future__ import annotations

import asyncio
import base64
import logging
import os

import aiohttp
import pytest
from aiohttp import web

from lunora_operator.local import texts
from tests.unit.local.loopback import config, front_for, serving
from tests.unit.local.wire import Caller, Handler, Request, answer, instance

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def numbered() -> Handler:
    async def handler(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        path = request.line.split()[1].encode()
        if path == b"/0":
            await asyncio.sleep(0.2)  # answered last, were the requests forwarded all at once
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(path), path))
        return True

    return handler


async def test_pipelined_requests_are_answered_in_order() -> None:
    async with instance(numbered()) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(b"".join(b"GET /web/a/%d HTTP/1.1\r\nHost: r\r\n\r\n" % n for n in range(5)))

        bodies = [(await caller.response()).body for _ in range(5)]

        assert bodies == [b"/%d" % n for n in range(5)]
        caller.close()


async def test_connection_close_and_http_1_0_end_the_connection_after_the_response() -> None:
    async with instance(answer(OK)) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        for request in (
            b"GET /web/a/ HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n",
            b"GET /web/a/ HTTP/1.0\r\n\r\n",
        ):
            caller = await Caller.connect(port)
            await caller.send(request)
            response = await caller.response()

            assert response.body == b"ok"
            assert await caller.closed()

        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        response = await caller.response()
        await caller.send(b"GET /web/a/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")

        assert response.header("Connection") == "keep-alive"
        assert (await caller.response()).body == b"ok"
        caller.close()


async def test_the_lifecycle_api_and_instances_share_a_keep_alive_connection() -> None:
    async with instance(answer(OK)) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        proxied = await caller.response()
        await caller.send(b"GET /_api/containers/web/instances/a/state HTTP/1.1\r\nHost: r\r\n\r\n")
        state = await caller.response()
        await caller.send(
            b"POST /_api/containers/web/instances/a/renew HTTP/1.1\r\nHost: r\r\nContent-Length: 0\r\n\r\n"
        )
        renewed = await caller.response()
        await caller.send(b"GET /_api/nope HTTP/1.1\r\nHost: r\r\n\r\n")
        missing = await caller.response()

        assert proxied.body == b"ok"
        assert (state.status, b'"status": "healthy"' in state.body) == (200, True)
        assert renewed.status == 200
        assert (missing.status, b"NOT_FOUND" in missing.body) == (404, True)
        caller.close()


async def _echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            await ws.send_str("echo " + message.data)
    return ws


async def _plain(request: web.Request) -> web.Response:
    return web.Response(text="plain")


def _masked_text(text: str) -> bytes:
    payload, mask = text.encode(), os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def test_a_websocket_upgrade_mid_connection_goes_to_the_aiohttp_bridge() -> None:
    """After plain requests on the forwarding path, an Upgrade on the same connection is handed
    to aiohttp with its head and any bytes after it, and its frames renew the instance's activity."""
    app = web.Application()
    app.router.add_get("/ws", _echo)
    app.router.add_get("/plain", _plain)
    async with serving(app) as pod_port, front_for(config(default_port=pod_port)) as (port, fleet, _):
        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/plain HTTP/1.1\r\nHost: r\r\n\r\n")
        assert (await caller.response()).body == b"plain"
        key = base64.b64encode(os.urandom(16))
        await caller.send(
            b"GET /web/a/ws HTTP/1.1\r\nHost: r\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key + _masked_text("first")
        )
        switched = await caller.response()
        instance_ = fleet.instance("web", "a")
        before = instance_.activity_deadline
        await asyncio.sleep(0.02)
        await caller.send(_masked_text("second"))

        assert switched.status == 101
        assert await caller.reader.readexactly(12) == b"\x81\x0aecho first"
        assert await caller.reader.readexactly(13) == b"\x81\x0becho second"
        assert instance_.activity_deadline > before
        assert instance_.inflight == 1
        caller.close()


async def test_an_upgrade_pipelined_behind_a_request_waits_for_its_answer() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)  # the upgrade has long been read when this answers
        return web.Response(text="slow")

    app = web.Application()
    app.router.add_get("/ws", _echo)
    app.router.add_get("/slow", slow)
    async with serving(app) as pod_port, front_for(config(default_port=pod_port)) as (port, _, _):
        caller = await Caller.connect(port)
        key = base64.b64encode(os.urandom(16))
        await caller.send(
            b"GET /web/a/slow HTTP/1.1\r\nHost: r\r\n\r\n"
            b"GET /web/a/ws HTTP/1.1\r\nHost: r\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key + _masked_text("after")
        )

        first = await caller.response()
        switched = await caller.response()

        assert (first.status, first.body, switched.status) == (200, b"slow", 101)
        assert await caller.reader.readexactly(12) == b"\x81\x0aecho after"
        caller.close()


async def test_an_upgrade_other_than_websocket_is_proxied_as_a_plain_request() -> None:
    """Cloudflare passes on only WebSocket upgrades: another (h2c) reaches the instance as a plain
    request without its Upgrade headers, and the caller's connection goes on."""
    async with instance(answer(OK)) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(
            b"GET /web/a/h2 HTTP/1.1\r\nHost: r\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nX-Kept: 1\r\n\r\n"
        )
        upgraded = await caller.response()
        await caller.send(b"GET /web/a/next HTTP/1.1\r\nHost: r\r\n\r\n")
        following = await caller.response()

        assert (upgraded.status, upgraded.body, following.body) == (200, b"ok", b"ok")
        seen = pod.requests[0]
        assert (seen.line, seen.header("X-Kept"), seen.header("Host")) == (
            "GET /h2 HTTP/1.1",
            "1",
            "container",
        )
        assert not seen.names & {"upgrade", "connection", "http2-settings"}
        caller.close()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /web/a/ HTTP/1.1\r\nHost: r\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"NOT A REQUEST\r\n\r\n", 400),
        (b"GET /web/a/ HTTP/1.1\r\nHost: r\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
    ],
)
async def test_a_malformed_request_is_refused_and_the_connection_closed(
    request_bytes: bytes, status: int
) -> None:
    async with instance(answer(OK)) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(request_bytes)
        response = await caller.response()

        assert response.status == status
        assert await caller.closed()
        assert not pod.requests


async def test_the_router_answers_in_the_platforms_words_on_the_forwarding_path() -> None:
    async with front_for(config(default_port=9)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/__lunora/exec HTTP/1.1\r\nHost: r\r\n\r\n")
        reserved = await caller.response()
        await caller.send(b"GET /nope/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        unknown = await caller.response()
        await caller.send(b"GET / HTTP/1.1\r\nHost: r\r\n\r\n")
        no_target = await caller.response()
        await caller.send(b"HEAD /web/a/__lunora/exec HTTP/1.1\r\nHost: r\r\n\r\n")
        reserved_head = await caller.response(head_request=True)

        assert (reserved.status, reserved.body.decode()) == (403, texts.RESERVED_PATH.text)
        assert reserved.header("Content-Type") == "text/plain; charset=utf-8"
        assert unknown.status == 404
        assert unknown.header("Content-Type") == "application/json; charset=utf-8"
        assert no_target.status == 404
        assert reserved_head.header("Content-Length") == str(len(texts.RESERVED_PATH.text.encode()))
        await caller.send(b"GET /web/a/x HTTP/1.1\r\nHost: r\r\ncf-container-target-port: nine\r\n\r\n")
        bad_port = await caller.response()
        assert (bad_port.status, bad_port.body.decode()) == (500, texts.PORT_NOT_A_NUMBER.text)
        caller.close()


async def test_the_access_log_names_each_request(caplog: pytest.LogCaptureFixture) -> None:
    from lunora_operator.local.router import serving as serving_router
    from tests.unit.local.fakes import fleet_with
    from tests.unit.local.loopback import LoopbackKube

    async with instance(answer(OK)) as pod:
        kube = LoopbackKube()
        ready = asyncio.Event()
        ready.set()
        with caplog.at_level(logging.INFO, logger="lunora_operator.local.router"):
            async with serving_router(
                fleet_with(kube, config(default_port=pod.port)), ready, "127.0.0.1", 0, access_log=True
            ) as front:
                caller = await Caller.connect(front.port)
                await caller.send(b"GET /web/a/logged?x=1 HTTP/1.1\r\nHost: r\r\n\r\n")
                await caller.response()
                caller.close()
        await kube.probes.close()

    assert any('"GET /web/a/logged?x=1" 200' in record.getMessage() for record in caplog.records)
