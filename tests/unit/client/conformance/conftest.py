from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from lunora_operator.client import Containers
from tests.unit.client.conformance.server import ConformanceServer
from tests.unit.client.support import RecordingClock


@pytest.fixture
async def server() -> AsyncIterator[ConformanceServer]:
    conformance = ConformanceServer()
    running = TestServer(conformance.app(), host="127.0.0.1")
    await running.start_server()
    conformance.base_url = str(running.make_url("")).rstrip("/")
    try:
        yield conformance
    finally:
        conformance.release.set()
        await running.close()


class FixedRandom:
    """`random()` answering `value` (Lunora's tests stub `Math.random`)."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@pytest.fixture
def pick() -> FixedRandom:
    return FixedRandom()


@pytest.fixture
async def containers(
    server: ConformanceServer, clock: RecordingClock, pick: FixedRandom
) -> AsyncIterator[Containers]:
    async with Containers(server.base_url, clock=clock, random=pick, max_instances={"capped": 2}) as client:
        yield client
