from __future__ import annotations

import asyncio

import pytest

from lunora_operator.local.capacity import Capacity
from lunora_operator.local.errors import Unavailable
from lunora_operator.local.texts import NO_INSTANCE

pytestmark = pytest.mark.looptime


async def test_holders_past_the_limit_wait_until_a_place_frees_or_the_deadline() -> None:
    loop = asyncio.get_running_loop()
    capacity = Capacity(1, loop.time)
    await capacity.acquire("a", loop.time() + 8)
    loop.call_later(3, capacity.release, "a")

    await capacity.acquire("b", loop.time() + 8)
    assert loop.time() == pytest.approx(3)
    with pytest.raises(Unavailable) as full:
        await capacity.acquire("c", loop.time() + 8)

    assert full.value.answer == NO_INSTANCE
    assert capacity.used == 1


async def test_runs_found_after_a_restart_count_even_past_the_limit() -> None:
    capacity = Capacity(1, asyncio.get_running_loop().time)
    capacity.hold("a")
    capacity.hold("b")
    assert capacity.used == 2
    capacity.release("a")
    assert capacity.used == 1
