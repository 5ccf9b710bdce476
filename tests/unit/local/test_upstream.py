"""Responses from instances on the forwarding path: keep-alive connections to an instance are
reused (and a reused one found closed is replaced), and responses that have no body whatever
their headers say (HEAD, 1xx, 204, 304) end where they end."""

from __future__ import annotations

import asyncio

import pytest

from lunora_operator.local.upstream import Pool
from tests.unit.local.loopback import config, front_for
from tests.unit.local.wire import Caller, Request, answer, instance

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_connections_to_the_instance_are_kept_alive_and_reused() -> None:
    async with instance(answer(OK)) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        callers = [await Caller.connect(port) for _ in range(2)]
        for _ in range(3):
            for caller in callers:
                await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
                assert (await caller.response()).body == b"ok"

        assert len(pod.requests) == 6
        assert pod.connections == 1, "one request at a time: one connection serves them all"
        for caller in callers:
            caller.close()


@pytest.mark.parametrize("closes", [True, False])
async def test_a_response_saying_connection_close_is_its_connections_last(closes: bool) -> None:
    """busybox httpd closes each connection; an instance may also only say so and leave the
    connection open. Either way the next request goes on a new one."""
    last = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    async with (
        instance(answer(last, keep_alive=not closes)) as pod,
        front_for(config(default_port=pod.port)) as (port, _, _),
    ):
        caller = await Caller.connect(port)
        for _ in range(3):
            await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
            response = await caller.response()
            assert (response.body, response.header("Connection")) == (b"ok", None)

        assert pod.connections == 3
        caller.close()


async def test_a_kept_connection_the_instance_drops_unanswered_is_replaced_for_a_request_without_body() -> (
    None
):
    """The race every pooling proxy has: the instance closes an idle connection just as a request
    is sent on it. A request without a body is sent again on a new connection."""
    answered: set[int] = set()

    async def once_per_connection(
        request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if id(writer) in answered:
            return False  # the second request on this connection: hang up without a word
        answered.add(id(writer))
        writer.write(OK)
        return True

    async with instance(once_per_connection) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        first = await caller.response()
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        second = await caller.response()

        assert (first.status, second.status, second.body) == (200, 200, b"ok")
        assert pod.connections == 2
        caller.close()


async def test_a_response_to_head_ends_with_its_headers_and_the_connection_goes_on() -> None:
    async def head_or_get(
        request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if request.line.startswith("HEAD"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Head: 1\r\n\r\n")
        else:
            writer.write(OK)
        return True

    async with instance(head_or_get) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(b"HEAD /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        head = await caller.response(head_request=True)
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        get = await caller.response()

        assert (head.status, head.header("Content-Length"), head.header("X-Head")) == (200, "1000", "1")
        assert (get.status, get.body) == (200, b"ok"), "no body was awaited or sent after the HEAD response"
        caller.close()


async def test_interim_responses_are_dropped_and_the_final_one_passes() -> None:
    interim = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    )
    async with (
        instance(answer(interim + OK)) as pod,
        front_for(config(default_port=pod.port)) as (port, _, _),
    ):
        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        response = await caller.response()
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        again = await caller.response()

        assert (response.status, response.body, response.header("Link")) == (200, b"ok", None)
        assert (again.status, again.body) == (200, b"ok")
        caller.close()


async def test_204_and_304_pass_without_a_body_or_added_framing() -> None:
    responses = iter(
        [
            b"HTTP/1.1 204 No Content\r\nX-N: 1\r\n\r\n",
            b'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\nETag: "v1"\r\n\r\n',
            OK,
        ]
    )

    async def next_answer(
        request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(next(responses))
        return True

    async with instance(next_answer) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        got = []
        for _ in range(3):
            await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
            got.append(await caller.response())

        assert [r.status for r in got] == [204, 304, 200]
        assert got[0].header("Transfer-Encoding") is None
        assert got[0].header("Content-Length") is None
        assert (got[1].header("Content-Length"), got[1].header("ETag")) == ("50", '"v1"')
        assert got[2].body == b"ok", "the bodiless responses left nothing behind on the connection"
        assert pod.connections == 1
        caller.close()


async def test_closing_a_connection_ends_a_wait_to_write_to_it() -> None:
    """A request body waits while the instance does not read; when the request ends (the caller
    left, the router stops) and its connection is closed, that wait ends too."""
    release = asyncio.Event()

    async def not_reading(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(not_reading, "127.0.0.1", 0)
    try:
        upstream = await Pool().connect(("127.0.0.1", server.sockets[0].getsockname()[1]))
        assert upstream.transport is not None
        _, high_water = upstream.transport.get_write_buffer_limits()
        while upstream.transport.get_write_buffer_size() <= high_water:  # past what the kernel takes
            upstream.write(b"x" * 4 * 1024 * 1024)
        waiting = asyncio.ensure_future(upstream.drain())
        await asyncio.sleep(0)
        assert not waiting.done()

        upstream.close()

        await asyncio.wait_for(waiting, 5)
    finally:
        release.set()
        server.close()


async def test_a_response_whose_header_lines_end_in_a_bare_lf_passes() -> None:
    """A CGI script printing `Content-Type: text/plain\n\n` under busybox httpd answers so."""
    bare = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\n\nok"
    async with instance(answer(bare)) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        response = await caller.response()
        assert response.body == b"ok"
        caller.close()
