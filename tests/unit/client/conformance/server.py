"""A real HTTP server on 127.0.0.1 answering the client's routes the way the platform answers.

Each test sets `responder` (the instance route), `exec_responder` (the exec route) or
`rpc_responder` (the bridge route) and reads `seen` afterwards. The answers are the platform's
own: the no-instance 503 and start-failure 500 sentinels, 429, application errors, stalls.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from lunora_operator.client.router import API_PREFIX


@dataclass
class Seen:
    route: str  # "instance", "exec", "lifecycle", "rpc"
    container: str
    instance: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    lifecycle: str = ""


Responder = Callable[[web.Request, Seen], Awaitable[web.StreamResponse]]


async def ok(_: web.Request, seen: Seen) -> web.StreamResponse:
    return web.Response(text=f"{seen.instance} {seen.path}")


@dataclass
class ConformanceServer:
    responder: Responder = ok
    exec_responder: Responder = ok
    rpc_responder: Responder = ok
    seen: list[Seen] = field(default_factory=list)
    base_url: str = ""
    lifecycle_answers: dict[str, web.Response] = field(default_factory=dict)
    # Set once a handler has sent headers and is stalling its body.
    stalled: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when the test ends, so a stalling handler returns and the server can close.
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/_lunora/rpc", self._rpc)
        lifecycle = f"/{API_PREFIX}/containers/{{container}}/instances/{{instance}}/{{method}}"
        app.router.add_post(lifecycle, self._lifecycle)
        app.router.add_get(lifecycle, self._lifecycle)
        app.router.add_route("*", "/{container}/{instance}{tail:.*}", self._instance)
        return app

    async def _record(self, request: web.Request, route: str, path: str) -> Seen:
        seen = Seen(
            route=route,
            container=request.match_info.get("container", ""),
            instance=request.match_info.get("instance", ""),
            method=request.method,
            path=path,
            query=request.query_string,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.read(),
            lifecycle=request.match_info.get("method", ""),
        )
        self.seen.append(seen)
        return seen

    async def _instance(self, request: web.Request) -> web.StreamResponse:
        raw_tail = request.raw_path.split("?")[0].split("/", 3)[3] if request.raw_path.count("/") >= 3 else ""
        seen = await self._record(request, "instance", "/" + raw_tail)
        return await self.responder(request, seen)

    async def _lifecycle(self, request: web.Request) -> web.StreamResponse:
        seen = await self._record(
            request, "exec" if request.match_info["method"] == "exec" else "lifecycle", ""
        )
        if seen.route == "exec":
            return await self.exec_responder(request, seen)
        answer = self.lifecycle_answers.get(seen.lifecycle)
        if answer is not None:
            return answer
        if seen.lifecycle == "state":
            return web.json_response(
                {"status": "healthy", "lastChange": 1700000000000, "extra": {"kept": True}}
            )
        return web.Response(status=204)

    async def _rpc(self, request: web.Request) -> web.StreamResponse:
        seen = await self._record(request, "rpc", "/_lunora/rpc")
        return await self.rpc_responder(request, seen)

    def instance_calls(self) -> list[Seen]:
        return [seen for seen in self.seen if seen.route == "instance"]

    def exec_calls(self) -> list[Seen]:
        return [seen for seen in self.seen if seen.route == "exec"]


def sequence(*responders: Responder) -> Responder:
    """Answer the n-th request with the n-th responder (the last one repeats)."""
    remaining = list(responders)

    async def respond(request: web.Request, seen: Seen) -> web.StreamResponse:
        responder = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return await responder(request, seen)

    return respond


def status(code: int, body: str = "") -> Responder:
    async def respond(_: web.Request, __: Seen) -> web.StreamResponse:
        return web.Response(status=code, text=body)

    return respond


def json_reply(payload: Any, code: int = 200) -> Responder:
    async def respond(_: web.Request, __: Seen) -> web.StreamResponse:
        return web.Response(status=code, text=json.dumps(payload), content_type="application/json")

    return respond


def drop_connection() -> Responder:
    """Close the connection before answering: the client's send raises."""

    async def respond(request: web.Request, _: Seen) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response(status=200)

    return respond


def drop_mid_body() -> Responder:
    """Answer headers, part of the body, then close: reading the body raises."""

    async def respond(request: web.Request, _: Seen) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"content-type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"code":')
        assert request.transport is not None
        request.transport.close()
        return response

    return respond


def stall_headers(server: ConformanceServer) -> Responder:
    """Never answer (until the test ends)."""

    async def respond(_: web.Request, __: Seen) -> web.StreamResponse:
        server.stalled.set()
        await server.release.wait()
        return web.Response(status=200)

    return respond


def stall_body(server: ConformanceServer) -> Responder:
    """Answer 200 with the start of a JSON body, then stall."""

    async def respond(request: web.Request, _: Seen) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"content-type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"code":0,')
        server.stalled.set()
        await server.release.wait()
        return response

    return respond


def serve_handlers(handlers: dict[str, Any]) -> tuple[Responder, Responder]:
    """Instance and exec responders that run a test double's handlers, so one scenario runs on both."""
    import httpx

    from lunora_operator.client.double import Instance

    async def respond(request: web.Request, seen: Seen) -> web.StreamResponse:
        path = "/__lunora/exec" if seen.route == "exec" else seen.path
        url = f"http://container{path}" + (f"?{seen.query}" if seen.query else "")
        forwarded = httpx.Request(seen.method, url, headers=seen.headers, content=seen.body)
        answer = handlers[seen.container](forwarded, Instance(seen.instance))
        if asyncio.iscoroutine(answer):
            answer = await answer
        body = await answer.aread()
        headers = {
            k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "content-encoding")
        }
        return web.Response(status=answer.status_code, body=body, headers=headers)

    return respond, respond
