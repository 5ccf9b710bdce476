"""The router's HTTP side against real sockets on 127.0.0.1: the "Pod" is an aiohttp server on the
loopback address, the probes are the real ones, and only Kubernetes is scripted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from lunora_operator.local.config import ContainerConfig
from lunora_operator.local.fleet import Fleet
from lunora_operator.local.probes import Probes
from lunora_operator.local.router import build_app
from tests.unit.local.fakes import FakeKube, Script, config, fleet_with


class LoopbackKube(FakeKube):
    """Pods "run" on 127.0.0.1 and are probed for real."""

    def __init__(self) -> None:
        super().__init__(Script(start_delay=0.01))
        self.probes = Probes()

    async def create_pod(self, manifest: dict[str, Any]) -> None:
        await super().create_pod(manifest)
        self.pods[manifest["metadata"]["name"]].ip = "127.0.0.1"

    async def probe_port(self, ip: str, port: int, ping_endpoint: str, limit: float) -> str | None:
        return await self.probes.probe_port(ip, port, ping_endpoint, limit)

    async def probe_ready(self, ip: str, port: int, path: str, limit: float) -> int | None:
        return await self.probes.probe_ready(ip, port, path, limit)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@asynccontextmanager
async def router_for(
    *configs: ContainerConfig,
) -> AsyncIterator[tuple[TestClient[Any, Any], Fleet, LoopbackKube]]:
    kube = LoopbackKube()
    fleet = fleet_with(kube, *configs)
    session = aiohttp.ClientSession(auto_decompress=False)
    ready = asyncio.Event()
    ready.set()
    client = TestClient(TestServer(build_app(fleet, session, ready)))
    await client.start_server()
    try:
        yield client, fleet, kube
    finally:
        await client.close()
        await session.close()
        await kube.probes.close()


__all__ = ["config", "router_for", "serving"]
