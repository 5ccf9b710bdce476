"""The router's listening side: HTTP/1.1 parsed with httptools (llhttp, the parser aiohttp's C
extension also uses) in an asyncio Protocol, each request forwarded as an `Exchange`, and
responses written in request order on each keep-alive connection.

An Upgrade request is not forwarded here: its connection is handed, with the head as parsed and
every byte after it, to the aiohttp application, which bridges WebSockets frame by frame (and
proxies any other Upgrade as a plain request) and keeps the connection from then on. Requests under `/_api/` are forwarded to that
application too, over an in-process socket pair, so the lifecycle API stays aiohttp's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import Callable, Hashable

import httptools

from lunora_operator.local import http1
from lunora_operator.local.destination import TEXT
from lunora_operator.local.exchange import Exchange, RequestBody, Routes
from lunora_operator.local.fleet import Fleet
from lunora_operator.local.http1 import Headers, Message
from lunora_operator.local.routing import TARGET_PORT_HEADER
from lunora_operator.local.upstream import Opener, Pool, Upstream

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 75.0
"""An idle caller's connection is closed after this long (aiohttp's default too)."""
SWEEP_SECONDS = 10.0
MAX_HEAD = 64 * 1024
"""Bytes of request line and headers a request may have."""
_PORT_HEADER = TARGET_PORT_HEADER.encode()
_READ_BODY, _READ_QUEUE = 1, 2
"""Why reading from a caller is paused: a body backlog, or requests waiting their turn."""

HandlerFactory = Callable[[], asyncio.Protocol]


class HeadTooLarge(Exception):
    pass


class FrontProtocol(asyncio.Protocol):
    """One caller's connection."""

    def __init__(self, server: FrontServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.write_paused = False
        self.last_active = 0.0
        self.exchanges: deque[Exchange] = deque()
        """In request order; the first is being served, the others wait (pipelining)."""
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: Headers = []
        self._head_size = 0
        self._body: RequestBody | None = None
        self._upgrade: bytes | None = None
        """The head of an Upgrade request, rebuilt for the aiohttp application."""
        self._tail: bytes | None = None
        self._reading_paused = 0
        self._closing = False

    # --- asyncio --------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.last_active = self.server.loop.time()
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self.server.connections.discard(self)
        if self._body is not None:
            self._body.lose()
        while self.exchanges:
            exchange = self.exchanges.pop()
            if exchange.task is None:  # never started: nothing to undo
                continue
            exchange.client_lost()

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._tail = data[upgrade.args[0] :]
            if self.exchanges:
                self._pause(_READ_QUEUE)  # handed over once the requests before it are answered
            else:
                self._hand_over()
        except httptools.HttpParserError as error:
            self._bad_request(error)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.exchanges:
            self.exchanges[0].client_drained()

    # --- httptools ------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._grow(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        self._grow(len(name) + len(value) + 4)

    def on_headers_complete(self) -> None:
        parser = self._parser
        method = parser.get_method()
        version = parser.get_http_version()
        if parser.should_upgrade():
            lines = [b"%s %s HTTP/%s\r\n" % (method, self._url, version.encode())]
            lines += [name + b": " + value + b"\r\n" for name, value in self._headers]
            self._upgrade = b"".join(lines) + b"\r\n"
            return
        message = Message(self._headers, _PORT_HEADER)
        body = self._body = RequestBody(self) if message.has_body else None
        exchange = Exchange(
            self, method, self._url, version == "1.0", parser.should_keep_alive(), message, body
        )
        self.exchanges.append(exchange)
        if len(self.exchanges) == 1:
            self._start(exchange)
        else:
            self._pause(_READ_QUEUE)

    def on_body(self, body: bytes) -> None:
        if self._body is not None:
            self._body.feed(body)

    def on_message_complete(self) -> None:
        if self._body is not None:
            self._body.end()
            self._body = None

    # --- what an exchange uses (exchange.Caller) ------------------------------------------------

    def write(self, data: bytes) -> None:
        if not self._closing and self.transport is not None:
            self.transport.write(data)

    def body_backlog(self, full: bool) -> None:
        if full:
            self._pause(_READ_BODY)
        else:
            self._resume(_READ_BODY)

    def finished(self, exchange: Exchange) -> None:
        if self.exchanges and self.exchanges[0] is exchange:
            self.exchanges.popleft()
        self.last_active = self.server.loop.time()
        if self.server.access_log is not None:
            self.server.access_log.info(
                '"%s %s" %s', exchange.method.decode(), exchange.target.decode("latin-1"), exchange.status
            )
        if self._closing:
            return
        if exchange.close_after:
            self.close()
        elif self.exchanges:
            self._start(self.exchanges[0])
            if len(self.exchanges) == 1:
                self._resume(_READ_QUEUE)
        elif self._tail is not None:
            self._hand_over()

    # --- the rest -------------------------------------------------------------------------------

    def close(self) -> None:
        self._closing = True
        if self.transport is not None:
            self.transport.close()

    def _start(self, exchange: Exchange) -> None:
        exchange.task = self.server.loop.create_task(exchange.run(self.server.routes))

    def _grow(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEAD:
            raise HeadTooLarge

    def _pause(self, why: int) -> None:
        if not self._reading_paused and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
        self._reading_paused |= why

    def _resume(self, why: int) -> None:
        was = self._reading_paused
        self._reading_paused &= ~why
        if (
            was
            and not self._reading_paused
            and self.transport is not None
            and not self.transport.is_closing()
        ):
            self.transport.resume_reading()

    def _bad_request(self, error: httptools.HttpParserError) -> None:
        if self.exchanges:  # answer the requests before it, then close
            self.exchanges[-1].close_after = True
            self._pause(_READ_QUEUE)
            return
        too_large = isinstance(error.__context__, HeadTooLarge)
        status = 431 if too_large else 400
        text = b"request head too large" if too_large else b"Bad Request: " + str(error).encode()
        self.write(http1.reply(status, text, TEXT.encode(), [], False, False))
        self.close()

    def _hand_over(self) -> None:
        """The connection is aiohttp's from here on (a WebSocket, or another upgrade)."""
        transport, head, tail = self.transport, self._upgrade, self._tail
        assert transport is not None
        assert head is not None
        assert tail is not None
        self._closing = True
        self.server.connections.discard(self)
        handler = self.server.fallback()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        handler.data_received(head + tail)
        if self._reading_paused:
            transport.resume_reading()


def api_opener(fallback: HandlerFactory) -> Opener:
    """Connections to the aiohttp application: one end of a socket pair is its connection, the
    other the forwarding path's."""

    async def open_api(factory: Callable[[], Upstream], key: Hashable) -> Upstream:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        await loop.connect_accepted_socket(fallback, theirs)
        _, upstream = await loop.create_unix_connection(factory, sock=ours)
        return upstream

    return open_api


class FrontServer:
    """Listens, forwards, and hands upgrades to `fallback` (the aiohttp application's server)."""

    def __init__(
        self, fleet: Fleet, fallback: HandlerFactory, access_log: logging.Logger | None = None
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.fallback = fallback
        self.access_log = access_log
        self.routes = Routes(fleet, Pool(), Pool(api_opener(fallback)))
        self.connections: set[FrontProtocol] = set()
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int) -> None:
        self._server = await self.loop.create_server(
            lambda: FrontProtocol(self), host, port, reuse_address=True, backlog=1024
        )
        self._sweeper = self.loop.create_task(self._sweep())

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            for exchange in connection.exchanges:
                if exchange.task is not None:
                    exchange.client_lost()
            connection.close()
        self.routes.instances.close()
        self.routes.api.close()
        if self._server is not None:
            await self._server.wait_closed()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = self.loop.time()
            for connection in list(self.connections):
                if not connection.exchanges and now - connection.last_active > KEEPALIVE_SECONDS:
                    connection.close()
            self.routes.instances.sweep(now)
            self.routes.api.sweep(now)
