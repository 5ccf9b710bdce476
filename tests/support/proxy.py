"""A TCP proxy a test can take down, bring back and freeze: it stands between the operator and
one of the shared parts (Docker engine, registry, API server), so a test breaks the path to it
without touching what other tests use.

    with TcpProxy(("127.0.0.1", 15000)) as registry:        # or TcpProxy("/var/run/docker.sock")
        registry.address                                     # "127.0.0.1:<port>"
        registry.down()     # new connections refused, open ones cut
        registry.up()       # listening again on the same port
        registry.hold()     # connections stay open, but no byte moves until release()
        registry.cut()      # open connections cut; what they held is never delivered
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")
Upstream = tuple[str, int] | str
"""(host, port), or the path of a unix socket."""


class TcpProxy:
    def __init__(self, upstream: Upstream, port: int = 0) -> None:
        self.upstream = upstream
        self.port = port
        self.connections = 0
        """Connections accepted so far."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="TcpProxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self._run(self._start_flowing)
        self.up()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # --- what tests call --------------------------------------------------------------------------

    def up(self) -> None:
        self._run(self._listen)

    def down(self) -> None:
        """Stops listening (connections are refused) and cuts every open connection."""
        self._run(self._close)

    def cut(self) -> None:
        """Cuts every open connection; bytes held for it are dropped, never delivered."""
        self._run(self._cut)

    def hold(self) -> None:
        """Open and new connections stay up, but nothing is forwarded until `release()`."""
        self._run(self._set_flowing, False)

    def release(self) -> None:
        self._run(self._set_flowing, True)

    # --- the proxy ----------------------------------------------------------------------------------

    def _run(self, make: Callable[..., Awaitable[T]], *args: object) -> T:
        return asyncio.run_coroutine_threadsafe(make(*args), self._loop).result(30)

    async def _start_flowing(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self._cut()

    async def _cut(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if isinstance(self.upstream, str):
            return await asyncio.open_unix_connection(self.upstream)
        return await asyncio.open_connection(*self.upstream)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await self._connect()
        except OSError:
            client_writer.transport.abort()
            return
        self._open |= {client_writer, upstream_writer}
        await asyncio.gather(
            self._pump(client_reader, upstream_writer),
            self._pump(upstream_reader, client_writer),
            return_exceptions=True,
        )
        for writer in (client_writer, upstream_writer):
            self._open.discard(writer)
            writer.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        try:
            while True:
                await self._flowing.wait()
                data = await reader.read(65536)
                if not data:
                    break
                await self._flowing.wait()
                if writer.transport.is_closing():  # cut while held: the bytes are dropped
                    break
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                if writer.can_write_eof():
                    writer.write_eof()
