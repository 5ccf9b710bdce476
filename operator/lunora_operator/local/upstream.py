"""Connections from the router to instances (and to its own lifecycle API) for the forwarding
path: one HTTP/1.1 request at a time on each, responses parsed with httptools (llhttp), and idle
connections kept per address for the next request while the server keeps them open."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Protocol, cast

import httptools

from lunora_operator.local.http1 import Headers, no_body

IDLE_PER_ADDRESS = 64
IDLE_SECONDS = 60.0
CONNECT_SECONDS = 10.0


class ResponseSink(Protocol):
    """Who gets a response as it is read: the request being forwarded."""

    def response_head(self, status: int, reason: bytes, headers: Headers, streamed: bool) -> None:
        """`streamed`: the body's length is not known up front (chunked, or until the close)."""

    def response_body(self, data: bytes) -> None: ...

    def flush(self) -> None:
        """Everything read from one packet has been reported: pass it on."""

    def response_end(self, keep_alive: bool) -> None:
        """The whole response was read; `keep_alive`: the connection may carry another request."""

    def upstream_failed(self, error: BaseException | None) -> None:
        """The connection broke, or the response was not HTTP, before the response ended."""


class Upstream(asyncio.Protocol):
    """One connection. `begin` hands it a request's sink; callbacks of the parser feed the sink."""

    def __init__(self, pool: Pool, key: Hashable) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.answered = False
        """Any byte of a response came on this connection for the current request."""
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        # Header lines ending in a bare LF pass, as aiohttp and nginx take them (CGI scripts send them).
        self._parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True)
        self._sink: ResponseSink | None = None
        self._head_request = False
        self._reason = b""
        self._headers: Headers = []
        self._interim = False
        self._until_close = False
        self._head_done = False
        self._paused = False
        self._drained: asyncio.Future[None] | None = None

    # --- used by the request being forwarded ----------------------------------------------------

    def begin(self, sink: ResponseSink, head_request: bool) -> None:
        self._sink = sink
        self._head_request = head_request
        self._head_done = self._until_close = self.answered = False
        self._reason, self._headers = b"", []

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    async def drain(self) -> None:
        """Waits while the kernel's buffer towards the instance is full."""
        if self._paused and not self.closed:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def close(self) -> None:
        self._sink = None
        self.closed = True
        self._wake()  # a request body waiting to be written ends with the connection
        if self.transport is not None:
            self.transport.abort()

    # --- asyncio --------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._sink is None:  # bytes nobody asked for: the connection is not fit for reuse
            self.close()
            return
        self.answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ValueError("the container switched protocols on a plain request"))
        except httptools.HttpParserError as error:
            self._fail(ValueError(f"the container answered something other than HTTP/1.1 ({error})"))
        else:
            sink = self._sink
            if sink is not None:
                sink.flush()

    def eof_received(self) -> bool:
        self._lost(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(exc)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake()

    # --- httptools ------------------------------------------------------------------------------

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # 100 Continue, 103 Early Hints: the final response follows
            self._interim = True
            self._reason, self._headers = b"", []
            return
        sink = self._sink
        if sink is None:
            return
        length = chunked = False
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == b"content-length":
                length = True
            elif lowered == b"transfer-encoding":
                chunked = value.lower().rstrip().endswith(b"chunked")
        bodiless = no_body(status, self._head_request)
        self._until_close = not bodiless and not length and not chunked
        self._head_done = True
        sink.response_head(status, self._reason, self._headers, not bodiless and not length)
        if self._head_request:
            # llhttp would wait for the body the headers announce; a response to HEAD has none,
            # and the connection is not reused, since the parser still waits for it.
            self._end(keep_alive=False)

    def on_body(self, body: bytes) -> None:
        if self._sink is not None:
            self._sink.response_body(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self._end(self._parser.should_keep_alive())

    # --- the end of a response ------------------------------------------------------------------

    def _end(self, keep_alive: bool) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.response_end(keep_alive)

    def _fail(self, error: BaseException | None) -> None:
        sink = self._sink
        self.close()
        if sink is not None:
            sink.upstream_failed(error)

    def _lost(self, error: BaseException | None) -> None:
        if self.closed:
            return
        self.closed = True
        self.pool.forget(self)
        self._wake()
        if self._head_done and self._until_close:
            self._end(keep_alive=False)  # a body without a length ends with the connection
        else:
            self._fail(error)

    def _wake(self) -> None:
        waiter, self._drained = self._drained, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


Opener = Callable[[Callable[[], Upstream], Hashable], Awaitable[Upstream]]


async def open_tcp(factory: Callable[[], Upstream], key: Hashable) -> Upstream:
    ip, port = cast(tuple[str, int], key)
    async with asyncio.timeout(CONNECT_SECONDS):
        _, upstream = await asyncio.get_running_loop().create_connection(factory, ip, port)
    return upstream


class Pool:
    """Connections by address: an idle one is reused (newest first), else a new one is opened."""

    def __init__(self, opener: Opener = open_tcp) -> None:
        self._opener = opener
        self._idle: dict[Hashable, list[Upstream]] = {}

    async def connect(self, key: Hashable) -> Upstream:
        idle = self._idle.get(key)
        while idle:
            upstream = idle.pop()
            if not upstream.closed:
                upstream.reused = True
                return upstream
        return await self._opener(lambda: Upstream(self, key), key)

    def release(self, upstream: Upstream) -> None:
        """The response has ended and the connection may carry another request."""
        if upstream.closed:
            return
        idle = self._idle.setdefault(upstream.key, [])
        if len(idle) >= IDLE_PER_ADDRESS:
            upstream.close()
            return
        upstream.idle_since = asyncio.get_running_loop().time()
        idle.append(upstream)

    def forget(self, upstream: Upstream) -> None:
        idle = self._idle.get(upstream.key)
        if idle and upstream in idle:
            idle.remove(upstream)
            if not idle:
                del self._idle[upstream.key]

    def sweep(self, now: float) -> None:
        """Closes connections idle for longer than IDLE_SECONDS."""
        for key, idle in list(self._idle.items()):
            stale = [u for u in idle if now - u.idle_since > IDLE_SECONDS]
            for upstream in stale:
                idle.remove(upstream)
                upstream.close()
            if not idle:
                del self._idle[key]

    def close(self) -> None:
        for idle in self._idle.values():
            for upstream in idle:
                upstream.close()
        self._idle.clear()
