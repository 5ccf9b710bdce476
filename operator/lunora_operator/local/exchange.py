"""One request on the forwarding path: routed to its instance (or to the router's lifecycle API),
its body streamed there as it arrives, the response streamed back as it is read, with
backpressure both ways; nothing is held whole. The instance counts the request as in flight from
the moment it is routed until its response has been handed to the caller's connection."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol

from lunora_operator.local import errors, http1, texts
from lunora_operator.local.destination import Reply, answer, destination
from lunora_operator.local.fleet import Fleet
from lunora_operator.local.http1 import Headers, Message
from lunora_operator.local.probes import CONTAINER_HOST
from lunora_operator.local.upstream import Pool, Upstream

log = logging.getLogger(__name__)

API_KEY = "lifecycle-api"
"""The pool key of connections to the router's own aiohttp application."""
_CONTAINER_HOST = CONTAINER_HOST.encode()
BODY_HIGH_WATER = 256 * 1024
BODY_LOW_WATER = 64 * 1024


class ClientGone(Exception):
    """The caller's connection closed before its request was read."""


class Caller(Protocol):
    """The caller's connection, as an exchange uses it."""

    write_paused: bool

    def write(self, data: bytes) -> None: ...

    def body_backlog(self, full: bool) -> None:
        """Stop (True) or go on (False) reading from the caller: a request body is not being consumed."""

    def finished(self, exchange: Exchange) -> None:
        """The exchange is over: the response was written (or the caller is gone)."""


@dataclass(frozen=True, slots=True)
class Routes:
    fleet: Fleet
    instances: Pool
    """Connections to instance Pods, by (ip, port)."""
    api: Pool
    """Connections to the router's aiohttp application (the lifecycle API)."""


class RequestBody:
    """A request's body as the parser delivers it, until the exchange forwards it; past the high
    water mark the caller's connection stops being read."""

    __slots__ = ("_caller", "_chunks", "_full", "_size", "_waiter", "discarded", "ended", "gone", "stopped")

    def __init__(self, caller: Caller) -> None:
        self._caller = caller
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._full = False
        self._waiter: asyncio.Future[None] | None = None
        self.ended = False
        self.gone = False
        self.discarded = False
        self.stopped = False

    def feed(self, data: bytes) -> None:
        if self.discarded:
            return
        self._chunks.append(data)
        self._size += len(data)
        if self._size > BODY_HIGH_WATER and not self._full:
            self._full = True
            self._caller.body_backlog(True)
        self._wake()

    def end(self) -> None:
        self.ended = True
        self._wake()

    def lose(self) -> None:
        self.gone = True
        self._wake()

    def stop(self) -> None:
        """The instance has answered (or is gone): whoever reads gets the end now."""
        self.stopped = True
        self._wake()

    def discard(self) -> None:
        """Nobody will read the rest: drop what came and what comes."""
        self.discarded = True
        self._chunks.clear()
        self._size = 0
        if self._full:
            self._full = False
            self._caller.body_backlog(False)

    async def read(self) -> bytes | None:
        """What has come since the last read, joined; None at the end."""
        while not self._chunks or self.stopped:
            if self.ended or self.stopped:
                return None
            if self.gone:
                raise ClientGone
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        data = self._chunks.popleft() if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        if self._full:
            self._full = False
            self._caller.body_backlog(False)
        return data

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Outcome(enum.Enum):
    DONE = "done"
    STALE = "stale"
    """A reused idle connection turned out closed before answering: try a new one."""
    FAILED = "failed"
    GONE = "gone"


class Exchange:
    __slots__ = (
        "_body_sent", "_chunked_out", "_failure", "_out", "_outcome", "_reading_paused", "_upstream", "body",
        "caller", "close_after", "gone", "head_sent", "http10", "internal", "message", "method", "status",
        "target", "task",
    )  # fmt: skip

    def __init__(
        self,
        caller: Caller,
        method: bytes,
        target: bytes,
        http10: bool,
        keep_alive: bool,
        message: Message,
        body: RequestBody | None,
    ) -> None:
        self.caller = caller
        self.method = method
        self.target = target
        self.http10 = http10
        self.message = message
        self.body = body
        self.internal = target.startswith(b"/_api/")
        self.close_after = not keep_alive
        """The caller's connection closes after this response."""
        self.head_sent = False
        self.gone = False
        self.status = 0
        self.task: asyncio.Task[None] | None = None
        self._upstream: Upstream | None = None
        self._outcome: asyncio.Future[Outcome] | None = None
        self._failure: BaseException | None = None
        self._chunked_out = False
        self._body_sent = body is None
        self._reading_paused = False
        self._out: list[bytes] = []
        """Response bytes read in one go from the instance, written in one go to the caller."""

    async def run(self, routes: Routes) -> None:
        try:
            if self.internal:
                host = self.message.host or b"router"
                await self._forward(routes.api, API_KEY, host, self.target, None)
            else:
                await self._to_instance(routes)
        except ClientGone:
            self.close_after = True
        except Exception:
            log.exception("forwarding %s %r failed", self.method.decode(), self.target)
            self.reply(answer(errors.proxy_failed("the router failed")))
        finally:
            if self._upstream is not None:
                self._upstream.close()
            if self.body is not None and not self.body.ended:
                self.body.discard()  # the rest of it is not read: the connection cannot go on
                self.close_after = True
            self.caller.finished(self)

    async def _to_instance(self, routes: Routes) -> None:
        port = self.message.port
        found = destination(
            routes.fleet,
            self.target.decode("utf-8", "surrogateescape"),
            None if port is None else port.decode("latin-1"),
        )
        if isinstance(found, Reply):
            self.reply(found)
            return
        try:
            ip = await found.instance.open()
        except errors.Unavailable as failure:
            self.reply(answer(failure))
            return
        try:
            path = found.path.encode("utf-8", "surrogateescape")
            await self._forward(routes.instances, (ip, found.port), _CONTAINER_HOST, path, found.port)
        finally:
            found.instance.leave()

    async def _forward(self, pool: Pool, key: Hashable, host: bytes, target: bytes, port: int | None) -> None:
        message = self.message
        head = http1.request_head(self.method, target, host, message.end_to_end, message.chunked)
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            if self.gone:
                raise ClientGone
            try:
                upstream = await pool.connect(key)
            except (OSError, TimeoutError) as error:
                what = texts.NOT_LISTENING.format(port=port) if port is not None else str(error)
                self.reply(answer(errors.proxy_failed(what)))
                return
            self._upstream = upstream
            self._outcome = outcome = loop.create_future()
            upstream.begin(self, self.method == b"HEAD")
            upstream.write(head)
            if attempt == 0 and message.expect_continue and not self.http10:
                self.caller.write(http1.CONTINUE)
            if self.body is not None:
                await self._send_body(upstream, outcome)
            result = await outcome
            if result is Outcome.STALE and attempt == 0:
                continue
            if result is Outcome.FAILED:
                self.reply(answer(_failed(self._failure)))
            return

    async def _send_body(self, upstream: Upstream, outcome: asyncio.Future[Outcome]) -> None:
        assert self.body is not None
        chunked = self.message.chunked
        try:
            while (data := await self.body.read()) is not None:
                if outcome.done():
                    return  # answered already, or the connection broke: the rest is not sent
                upstream.write(http1.chunk(data) if chunked else data)
                await upstream.drain()
        except ClientGone:
            self.client_lost()
            raise
        if outcome.done():
            return
        if chunked:
            upstream.write(http1.LAST_CHUNK)
        self._body_sent = True

    # --- what the caller's connection reports ---------------------------------------------------

    def client_lost(self) -> None:
        self.gone = self.close_after = True
        if self.body is not None:
            self.body.lose()
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            upstream.close()
        self._settle(Outcome.GONE)

    def client_drained(self) -> None:
        if self._reading_paused and self._upstream is not None:
            self._reading_paused = False
            self._upstream.resume_reading()

    # --- what the instance's connection reports (upstream.ResponseSink) -------------------------

    def response_head(self, status: int, reason: bytes, headers: Headers, streamed: bool) -> None:
        self.status = status
        self.head_sent = True
        if streamed and self.http10:
            self.close_after = True  # HTTP/1.0 has no chunks: the body ends with the connection
        self._chunked_out = streamed and not self.http10
        kept = Message(headers).end_to_end
        connection = http1.connection_header(not self.close_after, self.http10)
        self._out.append(http1.response_head(status, reason, kept, self._chunked_out, connection))

    def response_body(self, data: bytes) -> None:
        self._out.append(http1.chunk(data) if self._chunked_out else data)

    def flush(self) -> None:
        out = self._out
        if not out:
            return
        self.caller.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()
        if self.caller.write_paused and not self._reading_paused and self._upstream is not None:
            self._reading_paused = True
            self._upstream.pause_reading()

    def response_end(self, keep_alive: bool) -> None:
        if self._chunked_out:
            self._out.append(http1.LAST_CHUNK)
        self.flush()
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            if keep_alive and self._body_sent and not self._reading_paused:
                upstream.pool.release(upstream)
            else:
                upstream.close()
        self._settle(Outcome.DONE)

    def upstream_failed(self, error: BaseException | None) -> None:
        self.flush()
        upstream, self._upstream = self._upstream, None
        if self.head_sent:
            self.close_after = True  # the caller sees the response cut short
            self._settle(Outcome.DONE)
        elif upstream is not None and upstream.reused and not upstream.answered and self.body is None:
            self._settle(Outcome.STALE)
        else:
            self._failure = error
            self._settle(Outcome.FAILED)

    # --- replies of the router's own ------------------------------------------------------------

    def reply(self, what: Reply) -> None:
        if self.head_sent:
            self.close_after = True
            return
        self.head_sent = True
        self.status = what.status
        if self.body is not None and not self.body.ended:
            self.close_after = True  # the body is not read: the connection cannot go on
        headers = [(name.encode(), value.encode()) for name, value in what.headers]
        body = b"" if self.method == b"HEAD" else what.body
        data = http1.reply(
            what.status, body, what.content_type.encode(), headers, not self.close_after, self.http10,
            len(what.body),
        )  # fmt: skip
        self.caller.write(data)

    def _settle(self, outcome: Outcome) -> None:
        if self.body is not None:
            self.body.stop()  # the body's forwarding ends with the exchange
        future = self._outcome
        if future is not None and not future.done():
            future.set_result(outcome)


def _failed(error: BaseException | None) -> errors.Unavailable:
    """What the caller gets when the connection to the instance broke before a response."""
    if error is None or isinstance(error, OSError):
        return errors.Unavailable(texts.DISCONNECTED)
    return errors.proxy_failed(str(error) or type(error).__name__)
