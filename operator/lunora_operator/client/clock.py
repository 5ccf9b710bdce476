"""The one source of waiting: retries and exec deadlines sleep through a `Clock`, so tests inject one."""

from __future__ import annotations

import asyncio
from typing import Protocol


class Clock(Protocol):
    async def sleep_ms(self, milliseconds: float) -> None:
        """Wait `milliseconds`; a wait of 0 or less returns at once."""
        ...


class SystemClock:
    """The event loop's clock."""

    async def sleep_ms(self, milliseconds: float) -> None:
        if milliseconds <= 0:
            return
        await asyncio.sleep(milliseconds / 1000)


SYSTEM_CLOCK = SystemClock()
