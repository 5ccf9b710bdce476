"""Raw HTTP/1.1 on loopback sockets, for tests of the forwarding path that need exact bytes: an
instance whose answers a test scripts connection by connection, and a caller that writes what it
is given and reads responses back by their framing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


async def eventually(check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    """Waits until `check()` holds; fails naming `what` after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


Handler = Callable[["Request", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]
"""Answers one request; returns whether the connection goes on to the next request."""


@dataclass
class Request:
    line: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    @property
    def names(self) -> set[str]:
        return {n.lower() for n, _ in self.headers}


async def read_head(reader: asyncio.StreamReader) -> tuple[str, list[tuple[str, str]]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    first, *lines = raw[:-4].decode("latin-1").split("\r\n")
    return first, [(n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in lines)]


async def read_body(reader: asyncio.StreamReader, headers: list[tuple[str, str]]) -> bytes:
    """The body as its headers frame it (Content-Length or chunked); none otherwise."""
    found = {n.lower(): v for n, v in headers}
    if found.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return body
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    if "content-length" in found:
        return await reader.readexactly(int(found["content-length"]))
    return b""


@dataclass
class Instance:
    """What the scripted instance saw: every request (probes aside) and every connection."""

    port: int = 0
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set whenever a connection from the router ends."""


PING = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@asynccontextmanager
async def instance(handler: Handler, read_bodies: bool = True) -> AsyncIterator[Instance]:
    """An instance on 127.0.0.1 answering the router's port check itself and every other request
    with `handler` (after reading the request's body, unless `read_bodies` is off)."""
    seen = Instance()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counted = False
        try:
            while (head := await read_head(reader)) is not None:
                line, headers = head
                if dict((n.lower(), v) for n, v in headers).get("host") == "ping":
                    writer.write(PING)
                    break
                if not counted:
                    seen.connections += 1
                    counted = True
                request = Request(line, headers)
                if read_bodies:
                    request.body = await read_body(reader, headers)
                seen.requests.append(request)
                if not await handler(request, reader, writer):
                    break
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            seen.closed.set()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    seen.port = server.sockets[0].getsockname()[1]
    try:
        yield seen
    finally:
        server.close()


def answer(data: bytes, keep_alive: bool = True) -> Handler:
    async def handler(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(data)
        return keep_alive

    return handler


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    @property
    def names(self) -> set[str]:
        return {n.lower() for n, _ in self.headers}


class Caller:
    """A raw client connection to the router."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> Caller:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, head_request: bool = False, until_close: bool = False) -> Response:
        head = await asyncio.wait_for(read_head(self.reader), 10)
        assert head is not None, "the router closed the connection instead of answering"
        line, headers = head
        status = int(line.split()[1])
        if head_request or status in (204, 304) or status < 200:
            return Response(status, headers, b"")
        if until_close:
            return Response(status, headers, await asyncio.wait_for(self.reader.read(), 10))
        return Response(status, headers, await asyncio.wait_for(read_body(self.reader, headers), 10))

    async def closed(self) -> bool:
        """Whether the router closes the connection (reads nothing more before the end)."""
        return await asyncio.wait_for(self.reader.read(), 10) == b""

    def close(self) -> None:
        self.writer.close()
