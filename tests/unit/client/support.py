"""Fakes for the client's unit tests: clocks that never sleep and a scripted transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from lunora_operator.client.transport import InstanceTarget, LifecycleMethod
from lunora_operator.client.wire import JsonValue

# The platform's answers while an instance is provisioning or failed to start.
NO_INSTANCE_TEXT = (
    "There is no Container instance available at this time.\n"
    "This is likely because you have reached your max concurrent instance count (set in wrangler config) "
    "or are you currently provisioning the Container."
)
START_FAILURE_TEXT = "Failed to start container: container exited with unexpected exit code: 1"


class RecordingClock:
    """Records every wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def sleep_ms(self, milliseconds: float) -> None:
        self.waits.append(milliseconds)
        if milliseconds > 0:
            await asyncio.sleep(0)


class ManualClock:
    """Time moves only when the test calls `advance`."""

    def __init__(self) -> None:
        self.now = 0.0
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []
        self.sleeping = asyncio.Event()

    async def sleep_ms(self, milliseconds: float) -> None:
        if milliseconds <= 0:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self.now + milliseconds, future))
        self.sleeping.set()
        await future

    def advance(self, milliseconds: float) -> None:
        self.now += milliseconds
        for due, future in list(self._waiters):
            if due <= self.now and not future.done():
                future.set_result(None)
        self._waiters = [(due, f) for due, f in self._waiters if not f.done()]


Action = httpx.Response | BaseException | Callable[[InstanceTarget, httpx.Request], httpx.Response]


@dataclass
class Sent:
    channel: str
    target: InstanceTarget
    request: httpx.Request
    body: bytes


@dataclass
class ScriptedTransport:
    """Answers each fetch / exec with the next scripted action; lifecycle calls answer `call_answer`."""

    script: list[Action] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[InstanceTarget, str, JsonValue]] = field(default_factory=list)
    call_answer: Callable[[str], JsonValue] = lambda method: None

    async def _next(self, channel: str, target: InstanceTarget, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.sent.append(Sent(channel, target, request, body))
        action = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(action, BaseException):
            raise action
        response = action(target, request) if callable(action) else _fresh(action)
        response.request = request
        return response

    async def fetch(self, target: InstanceTarget, request: httpx.Request) -> httpx.Response:
        return await self._next("fetch", target, request)

    async def exec(self, target: InstanceTarget, request: httpx.Request) -> httpx.Response:
        return await self._next("exec", target, request)

    async def call(self, target: InstanceTarget, method: LifecycleMethod, argument: JsonValue) -> JsonValue:
        self.calls.append((target, method, argument))
        return self.call_answer(method)

    async def aclose(self) -> None:
        return None

    @property
    def instances(self) -> list[str]:
        return [sent.target.instance for sent in self.sent]


def _fresh(response: httpx.Response) -> httpx.Response:
    """A copy, so one scripted response can answer many attempts."""
    return httpx.Response(response.status_code, headers=response.headers, content=response.content)


def text(status: int, body: str = "") -> httpx.Response:
    return httpx.Response(status, text=body)


def streamed(
    status: int, chunks: list[bytes], pulled: list[int] | None = None, endless: bool = False
) -> httpx.Response:
    """A response whose body arrives in `chunks` (repeated forever with `endless`); `pulled` counts reads."""

    async def body() -> AsyncIterator[bytes]:
        while True:
            for chunk in chunks:
                if pulled is not None:
                    pulled.append(len(chunk))
                yield chunk
            if not endless:
                return

    return httpx.Response(status, content=body())


def sequence(*actions: Any) -> list[Action]:
    return list(actions)
