"""The router's knobs: the platform's budgets by default, shorter ones for tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from lunora_operator.local import texts


@dataclass(frozen=True)
class Budgets:
    """How long a start may take, per phase; the defaults are the platform's."""

    instance_get: float = texts.INSTANCE_GET_TIMEOUT
    """From the start until the instance's process runs; then the no-instance answer."""
    port_ready: float = texts.PORT_READY_TIMEOUT
    """From the start until every port listens."""
    poll_interval: float = texts.INSTANCE_POLL_INTERVAL
    ping_timeout: float = texts.PING_TIMEOUT
    readiness: float = texts.READINESS_TIMEOUT
    """For all `readyOn` probes of one start together."""
    readiness_poll: float = texts.READINESS_POLL_INTERVAL


class LoopClock:
    """Monotonic time is the event loop's (timers are the loop's), wall time the system's. Unit
    tests run the loop on a fake clock, so waits and timers take no real time."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    def wall(self) -> datetime:
        return datetime.now(UTC)
