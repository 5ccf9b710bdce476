"""What each object's reconcile loop waits on: after a pass it rests until a watch event wakes
it (a new generation or reconcile request), the retry delay of what stopped the pass, or the
drift check."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol

from lunora_operator.kube.gateway import KubeRefused, KubeUnavailable
from lunora_operator.reconcile.errors import StepError

STALLED_RECHECK_SECONDS = 120.0
"""How soon a stalled or held object is looked at again: what stalls it may be in a ConfigMap
or Secret the operator does not watch, and a held change may have been carried out by hand."""
KUBE_RETRY_SECONDS = 5.0


class Stopped(Protocol):
    """kopf's DaemonStopped, as the loop uses it."""

    def __bool__(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> Awaitable[object]: ...


@dataclass
class Wakeup:
    event: asyncio.Event = field(default_factory=asyncio.Event)
    handled: tuple[int, str | None] | None = None
    """(generation, requestedAt) the loop last reconciled."""


class Loops:
    """Every object's wakeup, by uid."""

    def __init__(self, resync_interval: float) -> None:
        self.resync_interval = resync_interval
        self._wakeups: dict[str, Wakeup] = {}

    def wakeup(self, uid: str) -> Wakeup:
        return self._wakeups.setdefault(uid, Wakeup())

    def notice(self, uid: str, generation: int, requested_at: str | None) -> None:
        """A watch event: wake the object's loop when its spec or reconcile request changed."""
        wakeup = self.wakeup(uid)
        if wakeup.handled != (generation, requested_at):
            wakeup.event.set()

    def handling(self, uid: str, generation: int, requested_at: str | None) -> None:
        """A pass starts for this generation and reconcile request."""
        self.wakeup(uid).handled = (generation, requested_at)

    def wake(self, uid: str) -> None:
        """Wakes the object's loop now, if it has one."""
        if uid in self._wakeups:
            self._wakeups[uid].event.set()

    def forget(self, uid: str) -> None:
        self._wakeups.pop(uid, None)

    def next_pass_in(self, error: StepError | None) -> float:
        """A retryable error's delay; a stalled or held object every 2 minutes; otherwise the
        drift interval."""
        if error is None:
            return self.resync_interval
        if error.kind in ("stalled", "held"):
            return min(STALLED_RECHECK_SECONDS, self.resync_interval)
        return error.delay

    def after_kube_error(self, error: KubeUnavailable) -> float:
        """No answer: soon again. Refused (RBAC, an invalid write): at the next drift check."""
        return self.resync_interval if isinstance(error, KubeRefused) else KUBE_RETRY_SECONDS

    def begin(self, uid: str) -> None:
        """A pass starts: what woke the loop so far is taken into it."""
        self.wakeup(uid).event.clear()

    async def rest(self, uid: str, stopped: Stopped, delay: float) -> None:
        """Sleeps until the object's loop is woken, the daemon is stopped, or `delay` passed."""
        woken = asyncio.ensure_future(self.wakeup(uid).event.wait())
        halted = asyncio.ensure_future(stopped.wait(delay))
        try:
            await asyncio.wait({woken, halted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (woken, halted):
                waiter.cancel()
