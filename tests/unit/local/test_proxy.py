"""Proxying through the router over real loopback sockets: bodies stream both ways, WebSockets are
bridged and renew activity per frame, the port selector works, and the platform's texts come back
when a port is closed or a path is reserved."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from lunora_operator.local import texts
from tests.unit.local.loopback import config, router_for, serving


async def test_requests_reach_the_instance_as_container_and_stick_to_their_id() -> None:
    seen: list[tuple[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.host, request.path_qs))
        return web.Response(text="hello", headers={"X-Upstream": "1"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    async with serving(app) as port, router_for(config(default_port=port)) as (client, _fleet, kube):
        first = await client.get("/web/video-42/transcode?x=1")
        second = await client.get("/web/video-42/again")

        assert (first.status, await first.text(), first.headers["X-Upstream"]) == (200, "hello", "1")
        assert second.status == 200
        assert seen[0] == ("ping", "/"), "the port check asks http://ping, as Cloudflare's does"
        assert seen[1:] == [("container", "/transcode?x=1"), ("container", "/again")]
        assert len(kube.created) == 1


async def test_response_bodies_stream_before_the_instance_has_finished_them() -> None:
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first chunk\n")
        await release.wait()
        await response.write(b"second chunk\n")
        return response

    app = web.Application()
    app.router.add_get("/stream", handler)
    async with serving(app) as port, router_for(config(default_port=port)) as (client, fleet, _):
        response = await client.get("/web/a/stream")
        first = await asyncio.wait_for(response.content.readline(), 5)
        assert fleet.instance("web", "a").inflight == 1, "a response being streamed is in flight"
        release.set()
        rest = await response.content.read()

        assert (first, rest) == (b"first chunk\n", b"second chunk\n")
        await asyncio.sleep(0.05)
        assert fleet.instance("web", "a").inflight == 0


async def test_request_bodies_stream_to_the_instance_before_the_caller_has_sent_all() -> None:
    got_first = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        first = await request.content.readany()
        got_first.set()
        rest = await request.content.read()
        return web.Response(text=f"{len(first) + len(rest)}")

    async def body() -> object:
        yield b"x" * 1000
        await asyncio.wait_for(got_first.wait(), 5)  # the instance has the first part already
        yield b"y" * 1000

    app = web.Application()
    app.router.add_post("/upload", handler)
    async with serving(app) as port, router_for(config(default_port=port)) as (client, _, _):
        response = await client.post("/web/a/upload", data=body())

        assert (response.status, await response.text()) == (200, "2000")


def text(body: str):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=body)

    return handler


async def test_53_the_port_header_selects_the_port_and_a_closed_port_gets_the_not_listening_text() -> None:
    main, side = web.Application(), web.Application()
    main.router.add_get("/", text("main"))
    side.router.add_get("/", text("side"))
    async with (
        serving(main) as port,
        serving(side) as side_port,
        router_for(config(default_port=port)) as (client, _, _),
    ):
        default = await client.get("/web/a/")
        chosen = await client.get("/web/a/", headers={"cf-container-target-port": str(side_port)})
        closed = await client.get("/web/a/", headers={"cf-container-target-port": "9"})

        assert await default.text() == "main"
        assert await chosen.text() == "side"
        assert closed.status == 500
        assert await closed.text() == texts.PROXY_FAILED_PREFIX + texts.NOT_LISTENING.format(port=9)
        assert (
            await closed.text() == "Error proxying request to container: Container is not listening to port 9"
        )


async def test_125_reserved_paths_are_refused_before_any_instance_starts() -> None:
    async with router_for(config()) as (client, _, kube):
        for path in [
            "/web/a/__lunora/exec",
            "/web/a/%5F%5Flunora/exec",
            "/web/a/%255F%255Flunora/exec",
            "/web/a/x/..%2F__lunora/exec",
        ]:
            for headers in (
                {},
                {"x-lunora-container-exec": "1"},
                {"Upgrade": "websocket", "Connection": "Upgrade"},
            ):
                response = await client.post(path, headers=headers)
                assert response.status == 403, path
                assert await response.text() == texts.RESERVED_PATH.text
        assert not kube.created


async def test_websockets_are_bridged_both_ways_and_each_frame_renews_activity() -> None:
    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("chat",))
        await ws.prepare(request)
        await ws.send_str("hello from the instance")
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str("echo " + message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
        return ws

    app = web.Application()
    app.router.add_get("/ws", echo)
    async with serving(app) as port, router_for(config(default_port=port)) as (client, fleet, _):
        ws = await client.ws_connect("/web/a/ws", protocols=("chat",))
        instance = fleet.instance("web", "a")
        assert ws.protocol == "chat"
        assert (await ws.receive_str()) == "hello from the instance"
        before = instance.activity_deadline
        await asyncio.sleep(0.02)
        await ws.send_str("ping")
        assert (await ws.receive_str()) == "echo ping"
        await ws.send_bytes(b"abc")
        assert (await ws.receive_bytes()) == b"cba"

        assert instance.activity_deadline > before
        assert instance.inflight == 1, "an open WebSocket is in flight"
        await ws.close()
        await asyncio.sleep(0.05)
        assert instance.inflight == 0


async def test_an_unknown_container_is_named() -> None:
    async with router_for(config()) as (client, _, _):
        response = await client.get("/nope/a/")

        assert response.status == 404
        assert (await response.json())["message"] == 'this app has no LunoraContainer "nope" (it has: web)'
