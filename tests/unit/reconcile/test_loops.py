"""Each object's loop: woken only by a new generation or reconcile request, never by its own
status write; what stopped a pass decides when the next one comes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from lunora_operator.kube.gateway import KubeRefused, KubeUnavailable
from lunora_operator.reconcile.errors import Held, Stalled, Transient, Waiting
from lunora_operator.reconcile.loops import KUBE_RETRY_SECONDS, STALLED_RECHECK_SECONDS, Loops


def test_notice_wakes_a_loop_only_for_a_new_generation_or_reconcile_request() -> None:
    loops = Loops(resync_interval=600)
    loops.handling("uid-1", 1, None)
    wakeup = loops.wakeup("uid-1")

    loops.notice("uid-1", 1, None)  # a status write, a label: nothing to do
    assert not wakeup.event.is_set()

    loops.notice("uid-1", 2, None)
    assert wakeup.event.is_set()
    wakeup.event.clear()

    loops.notice("uid-1", 1, "2026-03-01T10:00:00Z")
    assert wakeup.event.is_set()
    wakeup.event.clear()

    loops.handling("uid-1", 1, "2026-03-01T10:00:00Z")
    loops.notice("uid-1", 1, "2026-03-01T10:00:00Z")
    assert not wakeup.event.is_set()


def test_the_next_pass_follows_what_stopped_this_one() -> None:
    loops = Loops(resync_interval=600)
    assert loops.next_pass_in(None) == 600
    assert loops.next_pass_in(Stalled("InvalidSpec", "x")) == STALLED_RECHECK_SECONDS
    assert loops.next_pass_in(Held("RolloutHeld", "x")) == STALLED_RECHECK_SECONDS
    assert loops.next_pass_in(Waiting("SecretNotFound", "x", retry_after=3)) == 3
    assert loops.next_pass_in(Transient("RateLimited", "x", retry_after=7)) == 7
    assert loops.after_kube_error(KubeUnavailable("no answer")) == KUBE_RETRY_SECONDS
    assert loops.after_kube_error(KubeRefused("403")) == 600
    assert Loops(resync_interval=30).next_pass_in(Stalled("InvalidSpec", "x")) == 30


class Flag:
    """kopf's DaemonStopped, as far as the loop uses it."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()

    def wait(self, timeout: float | None = None) -> Awaitable[bool]:
        async def waited() -> bool:
            try:
                await asyncio.wait_for(self.event.wait(), timeout)
            except TimeoutError:
                return False
            return True

        return waited()


async def test_rest_ends_when_woken_when_stopped_or_after_the_delay() -> None:
    loops = Loops(resync_interval=600)
    stopped = Flag()

    loops.begin("uid-1")
    woken = asyncio.create_task(loops.rest("uid-1", stopped, 600))
    await asyncio.sleep(0)
    assert not woken.done()
    loops.wake("uid-1")
    await asyncio.wait_for(woken, 5)

    loops.begin("uid-1")  # what woke it is taken into the next pass
    halted = asyncio.create_task(loops.rest("uid-1", stopped, 600))
    await asyncio.sleep(0)
    assert not halted.done()
    stopped.event.set()
    await asyncio.wait_for(halted, 5)

    loops.begin("uid-1")
    await asyncio.wait_for(loops.rest("uid-1", Flag(), 0.01), 5)
