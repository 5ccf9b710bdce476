"""Debounces the render requests of one app: many containers changing at once (100 applied
together) share a handful of runs of the app's pipeline instead of one each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from lunora_operator.clock import SYSTEM_CLOCK, Clock
from lunora_operator.reconcile.app_run import AppMemory, AppOutcome

logger = logging.getLogger(__name__)

RunApp = Callable[[AppMemory, bool], Awaitable[AppOutcome]]


@dataclass
class AppCoordinator:
    """Requests arriving while a run is pending join it; requests arriving during a run get the
    next one. A run starts once no request came for `quiet` seconds, or `max_delay` after the
    first pending request."""

    run_app: RunApp
    quiet: float = 0.2
    max_delay: float = 2.0
    clock: Clock = SYSTEM_CLOCK
    memory: AppMemory = field(default_factory=AppMemory)
    last: AppOutcome | None = None
    runs: int = 0
    _waiters: list[asyncio.Future[AppOutcome]] = field(default_factory=list)
    _observe: bool = False
    _poke: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def request(self, observe_cloudflare: bool = False) -> AppOutcome:
        waiter: asyncio.Future[AppOutcome] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._observe |= observe_cloudflare
        self._poke.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="lunora-app-render")
        return await asyncio.shield(waiter)

    async def _poked_within(self, seconds: float) -> bool:
        """Whether another request comes within `seconds` (on the injected clock)."""
        poked = asyncio.ensure_future(self._poke.wait())
        timer = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({poked, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (poked, timer):
                waiter.cancel()
        return poked.done() and not poked.cancelled()

    async def _settle(self) -> None:
        """Waits until requests pause for `quiet`, or `max_delay` after the first."""
        first = self.clock.monotonic()
        while True:
            self._poke.clear()
            remaining = first + self.max_delay - self.clock.monotonic()
            if remaining <= 0 or not await self._poked_within(min(self.quiet, remaining)):
                return

    async def _loop(self) -> None:
        while self._waiters:
            await self._settle()
            waiters, self._waiters = self._waiters, []
            observe, self._observe = self._observe, False
            try:
                outcome = await self.run_app(self.memory, observe)
            except Exception as error:  # a bug must not leave the waiters hanging
                logger.exception("app render failed")
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(error)
                continue
            self.runs += 1
            self.last = outcome
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(outcome)

    async def close(self) -> None:
        """Stops; requests still waiting are cancelled."""
        for waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(self._task, return_exceptions=True)
