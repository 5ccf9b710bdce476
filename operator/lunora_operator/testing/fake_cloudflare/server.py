"""FakeCloudflare: a stateful stand-in for the Cloudflare API endpoints the operator calls.

Every request body is checked against the official SDK's parameter types (see validation.py),
answers use the v4 envelope, and requests are recorded with secret values redacted.

    async with FakeCloudflare() as fake:          # in the test's event loop
        client = AsyncCloudflare(api_token="t", base_url=fake.base_url)
    with FakeCloudflare() as fake:                # in a thread, for sync tests and other processes
        ...

Its parts: `endpoints` (what is served and recorded), `routes` (HTTP), `state` (what it holds),
`rules` (what Cloudflare allows), `controls` (what a test does to it), `faults`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from types import TracebackType

from aiohttp import web

from lunora_operator.testing.fake_cloudflare import rules as st
from lunora_operator.testing.fake_cloudflare.controls import FakeControls
from lunora_operator.testing.fake_cloudflare.endpoints import ALL_PERMISSIONS, API_PREFIX
from lunora_operator.testing.fake_cloudflare.routes import Routes
from lunora_operator.testing.fake_cloudflare.state import FakeState

DEFAULT_ACCOUNT_ID = "023e105f4ecef8ad9ca31a8372d0c353"


class FakeCloudflare(FakeControls):
    """A fake Cloudflare API on 127.0.0.1 (ephemeral port unless `port` is given).

    Any non-empty bearer token is accepted unless `token` is set; `permissions` narrows what that
    token may do (all of ALL_PERMISSIONS by default). `registry` is handed out by the registry
    credentials endpoint, so images can really be pushed with what the layer obtains.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        permissions: Iterable[str] | None = None,
        registry: st.RegistryConfig | None = None,
        account_id: str = DEFAULT_ACCOUNT_ID,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(FakeState(), account_id)
        self.permissions = frozenset(ALL_PERMISSIONS if permissions is None else permissions)
        self.registry = registry
        self.host = host
        self.port = port
        self._routes = Routes(self.state, token, self.permissions, registry, self.snapshot)
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"FakeCloudflare(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    def make_app(self) -> web.Application:
        return self._routes.make_app()

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeCloudflare:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def __enter__(self) -> FakeCloudflare:
        """Runs the server in a thread of its own, for sync tests and clients in other processes."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as error:  # handed to the starting thread
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="FakeCloudflare", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._thread = None
            self._loop = None
