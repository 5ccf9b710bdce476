"""Requests on the forwarding path, byte for byte over loopback sockets: bodies stream both ways
in either framing and are never held whole, hop-by-hop headers stay on their connection, a caller
that goes away mid-body frees the instance, and a broken instance gets the platform's text."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from lunora_operator.local import texts
from tests.unit.local.loopback import config, front_for
from tests.unit.local.wire import Caller, Request, answer, eventually, instance, read_body, read_head

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_hop_by_hop_headers_are_dropped_both_ways_and_the_instance_sees_host_container() -> None:
    upstream_answer = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Upstream-Hop\r\n"
        b"X-Upstream-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nTrailer: X-T\r\n"
        b"X-Kept: yes\r\n\r\nok"
    )
    async with (
        instance(answer(upstream_answer)) as pod,
        front_for(config(default_port=pod.port)) as (port, _, _),
    ):
        caller = await Caller.connect(port)
        await caller.send(
            b"GET /web/a/x?q=1 HTTP/1.1\r\nHost: router.example\r\nConnection: keep-alive, X-Caller-Hop\r\n"
            b"X-Caller-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\n"
            b"Proxy-Connection: keep-alive\r\nX-End-To-End: kept\r\n\r\n"
        )
        response = await caller.response()

        seen = pod.requests[0]
        assert seen.line == "GET /x?q=1 HTTP/1.1"
        assert seen.header("Host") == "container"
        assert seen.header("X-End-To-End") == "kept"
        assert not seen.names & {
            "connection",
            "x-caller-hop",
            "keep-alive",
            "te",
            "proxy-authorization",
            "proxy-connection",
        }
        assert (response.status, response.body, response.header("X-Kept")) == (200, b"ok", "yes")
        assert not response.names & {
            "connection",
            "x-upstream-hop",
            "keep-alive",
            "proxy-authenticate",
            "trailer",
        }
        caller.close()


async def test_a_chunked_request_body_reaches_the_instance_chunked_piece_by_piece() -> None:
    async def echo_length(
        request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        body = str(len(request.body)).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        return True

    async with instance(echo_length) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(
            b"POST /web/a/up HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
        )
        await caller.send(b"6\r\n world\r\n0\r\n\r\n")
        response = await caller.response()

        assert (response.status, response.body) == (200, b"11")
        assert pod.requests[0].header("Transfer-Encoding") == "chunked"
        assert pod.requests[0].body == b"hello world"


@pytest.mark.parametrize("http10", [False, True])
async def test_a_response_without_a_length_is_chunked_to_a_1_1_caller_and_closed_for_1_0(
    http10: bool,
) -> None:
    async def until_close(
        request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nfirst,")
        await writer.drain()
        writer.write(b"second")
        return False

    async with instance(until_close) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        version = b"1.0" if http10 else b"1.1"
        await caller.send(b"GET /web/a/ HTTP/%s\r\nHost: r\r\n\r\n" % version)
        response = await caller.response(until_close=http10)

        assert response.body == b"first,second"
        if http10:
            assert response.header("Transfer-Encoding") is None
        else:
            assert response.header("Transfer-Encoding") == "chunked"
            await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
            assert (await caller.response()).body == b"first,second", "the caller's connection goes on"
        caller.close()


async def test_a_chunked_response_is_passed_on_chunked_and_both_connections_go_on() -> None:
    async def chunked(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst,\r\n")
        await writer.drain()
        writer.write(b"6\r\nsecond\r\n0\r\nX-Trailer: t\r\n\r\n")
        return True

    async with instance(chunked) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        for _ in range(2):
            await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
            response = await caller.response()

            assert (response.body, response.header("Transfer-Encoding")) == (b"first,second", "chunked")
        assert pod.connections == 1, "the instance's connection was kept for the second request"
        caller.close()


async def test_large_bodies_pass_whole_both_ways() -> None:
    size = 24 * 1024 * 1024
    payload = bytes(range(256)) * (size // 256)

    async def digest(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        assert len(request.body) == size
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        writer.write(request.body[::-1])
        return True

    async with instance(digest) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        caller.writer.write(b"PUT /web/a/blob HTTP/1.1\r\nHost: r\r\nContent-Length: %d\r\n\r\n" % size)
        caller.writer.write(payload)
        response = await caller.response()

        assert hashlib.sha256(pod.requests[0].body).digest() == hashlib.sha256(payload).digest()
        assert hashlib.sha256(response.body).digest() == hashlib.sha256(payload[::-1]).digest()
        caller.close()


async def test_a_request_body_the_instance_does_not_read_is_not_taken_in_whole() -> None:
    """The router stops reading from the caller while the instance does not read: the caller's
    writes back up instead of the router's memory filling."""
    reading = asyncio.Event()

    async def slow(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await reading.wait()
        body = await read_body(reader, request.headers)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(str(len(body))) + str(len(body)).encode()
        )
        return True

    size = 64 * 1024 * 1024
    async with (
        instance(slow, read_bodies=False) as pod,
        front_for(config(default_port=pod.port)) as (port, _, _),
    ):
        caller = await Caller.connect(port)
        caller.writer.write(b"POST /web/a/ HTTP/1.1\r\nHost: r\r\nContent-Length: %d\r\n\r\n" % size)
        caller.writer.write(b"x" * size)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(caller.writer.drain()), 2)
        reading.set()
        response = await caller.response()

        assert response.body == str(size).encode()
        caller.close()


async def test_a_response_the_caller_does_not_read_is_not_taken_in_whole() -> None:
    size = 64 * 1024 * 1024
    drained = asyncio.Event()

    async def big(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        writer.write(b"y" * size)
        await writer.drain()
        drained.set()
        return True

    async with instance(big) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        await asyncio.wait_for(read_head(caller.reader), 10)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(drained.wait()), 2)
        received = 0
        while received < size:
            received += len(await caller.reader.read(1024 * 1024))

        await asyncio.wait_for(drained.wait(), 10)
        assert received == size
        caller.close()


async def test_a_caller_gone_mid_body_closes_the_instance_connection_and_ends_the_request() -> None:
    async def read_all(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await reader.read()  # until the router closes the connection
        return False

    async with (
        instance(read_all, read_bodies=False) as pod,
        front_for(config(default_port=pod.port)) as (port, fleet, _),
    ):
        caller = await Caller.connect(port)
        await caller.send(
            b"POST /web/a/ HTTP/1.1\r\nHost: r\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000
        )
        await eventually(lambda: bool(pod.requests), "the request at the instance")
        instance_ = fleet.instance("web", "a")
        assert instance_.inflight == 1
        pod.closed.clear()
        caller.close()

        await asyncio.wait_for(pod.closed.wait(), 10)
        await eventually(lambda: instance_.inflight == 0, "the request no longer in flight")


async def test_an_instance_that_closes_before_answering_gets_the_disconnected_text() -> None:
    async def hang_up(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        return False

    async with instance(hang_up) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        response = await caller.response()

        assert (response.status, response.body.decode()) == (500, texts.DISCONNECTED.text)
        caller.close()


async def test_an_instance_that_breaks_mid_response_cuts_the_callers_response_short() -> None:
    async def short(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        return False

    async with instance(short) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        head = await asyncio.wait_for(read_head(caller.reader), 10)

        assert head is not None
        assert await asyncio.wait_for(caller.reader.read(), 10) == b"only this", "then the connection closes"


async def test_an_answer_that_is_not_http_gets_the_proxy_error_text() -> None:
    async with (
        instance(answer(b"SSH-2.0-OpenSSH\r\n\r\n", keep_alive=False)) as pod,
        front_for(config(default_port=pod.port)) as (port, _, _),
    ):
        caller = await Caller.connect(port)
        await caller.send(b"GET /web/a/ HTTP/1.1\r\nHost: r\r\n\r\n")
        response = await caller.response()

        assert response.status == 500
        assert response.body.decode().startswith(texts.PROXY_FAILED_PREFIX)


async def test_expect_100_continue_is_answered_before_the_body_is_sent() -> None:
    async with instance(answer(OK)) as pod, front_for(config(default_port=pod.port)) as (port, _, _):
        caller = await Caller.connect(port)
        await caller.send(
            b"PUT /web/a/ HTTP/1.1\r\nHost: r\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
        )
        interim = await caller.response()
        await caller.send(b"data")
        final = await caller.response()

        assert (interim.status, final.status, final.body) == (100, 200, b"ok")
        assert pod.requests[0].body == b"data"
        caller.close()


async def test_an_answer_before_the_body_is_all_sent_ends_the_request_and_its_connection() -> None:
    """An instance may refuse an upload at once (413); the caller gets that answer, and since the
    rest of its body will not be read, the connection closes after it rather than waiting."""
    too_large = b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n"
    async with (
        instance(answer(too_large), read_bodies=False) as pod,
        front_for(config(default_port=pod.port)) as (port, fleet, _),
    ):
        caller = await Caller.connect(port)
        await caller.send(b"POST /web/a/ HTTP/1.1\r\nHost: r\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 10)
        response = await caller.response()

        assert response.status == 413
        assert await caller.closed()
        await eventually(lambda: fleet.instance("web", "a").inflight == 0, "the request no longer in flight")
