"""The router's HTTP side against real sockets on 127.0.0.1: the "Pod" is an aiohttp server on the
loopback address, the probes are the real ones, and only Kubernetes is scripted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from lunora_operator.local.config import ContainerConfig
from lunora_operator.local.fleet import Fleet
from lunora_operator.local.probes import Probes
from lunora_operator.local.router import serving as serving_router
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
async def front_for(*configs: ContainerConfig) -> AsyncIterator[tuple[int, Fleet, LoopbackKube]]:
    """The router's HTTP side as `lunora-operator router` serves it (the forwarding path in
    front, aiohttp behind) on a free loopback port; that port."""
    kube = LoopbackKube()
    fleet = fleet_with(kube, *configs)
    ready = asyncio.Event()
    ready.set()
    try:
        async with serving_router(fleet, ready, "127.0.0.1", 0) as front:
            yield front.port, fleet, kube
    finally:
        await kube.probes.close()


@asynccontextmanager
async def router_for(
    *configs: ContainerConfig,
) -> AsyncIterator[tuple[aiohttp.ClientSession, Fleet, LoopbackKube]]:
    """`front_for`, and a client session addressed to it."""
    async with front_for(*configs) as (port, fleet, kube):
        client = aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}", auto_decompress=False)
        try:
            yield client, fleet, kube
        finally:
            await client.close()


__all__ = ["config", "front_for", "router_for", "serving"]
