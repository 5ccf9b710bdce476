"""The peering's write lease against the real API server: one holder at a time, a holder that
stops renewing (paused) stops writing by its own clock, a standby takes the lease once the
holder's record expired, and the paused holder, woken, finds it lost instead of writing."""

from __future__ import annotations

import asyncio

import kopf
import pytest

from lunora_operator.peering import NotActive, PeeringObjects, WriteLease
from tests.support.kube import KubeClients

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(120)]
LIFETIME = 4
PEERING = "lease-test"


def lease(kube: KubeClients, namespace: str, identity: str, priority: int) -> WriteLease:
    settings = kopf.OperatorSettings()
    settings.peering.lifetime = LIFETIME
    settings.peering.priority = priority
    return WriteLease([PeeringObjects(kube.api, PEERING, namespace)], identity, settings)


@pytest.fixture
async def peering(kube: KubeClients, namespace: str) -> str:
    body = {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": PEERING}}
    await asyncio.to_thread(
        kube.custom.create_namespaced_custom_object, "kopf.dev", "v1", namespace, "kopfpeerings", body
    )
    return namespace


class Running:
    def __init__(self, lease: WriteLease) -> None:
        self.lease = lease
        self.lost: list[str] = []
        self.task = asyncio.create_task(lease.run(self.lost.append))

    def pause(self) -> None:
        """As SIGSTOP does to the process: nothing renews; the monotonic clock goes on."""
        self.task.cancel()

    def wake(self) -> None:
        self.task = asyncio.create_task(self.lease.run(self.lost.append))


async def test_one_holder_a_paused_holder_stops_and_loses_the_lease_to_the_standby(
    kube: KubeClients, peering: str
) -> None:
    active = Running(lease(kube, peering, "active", priority=-1000))
    await active.lease.guard(wait=10)
    standby = Running(lease(kube, peering, "standby", priority=-2000))
    with pytest.raises(NotActive):
        await standby.lease.guard(wait=LIFETIME / 2)

    active.pause()
    await asyncio.sleep(LIFETIME / 2 + 0.3)
    with pytest.raises(NotActive):  # its own clock ended its writes before its record expires
        await active.lease.guard(wait=0)
    await standby.lease.guard(wait=LIFETIME + 5)  # the record expired: the standby takes over

    active.wake()
    for _ in range(100):
        if active.lost:
            break
        await asyncio.sleep(0.1)
    assert active.lost, "the woken holder did not notice it had lost the lease"
    assert "another operator process took over" in active.lost[0]
    with pytest.raises(NotActive):
        await active.lease.guard(wait=0)
    await standby.lease.guard(wait=0)
    standby.task.cancel()


async def test_a_holder_releases_to_a_process_of_higher_priority_and_never_two_hold(
    kube: KubeClients, peering: str
) -> None:
    low = Running(lease(kube, peering, "low", priority=0))
    await low.lease.guard(wait=10)
    # The newcomer announces itself by kopf's keep-alive; its lease loop only reads until it may take.
    keepalive = asyncio.create_task(kopf_keepalive(kube, peering, "high", priority=10))
    high = Running(lease(kube, peering, "high", priority=10))
    both: list[float] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIFETIME * 3
    while not high.lease.holds() and loop.time() < deadline:
        if low.lease.holds() and high.lease.holds():
            both.append(loop.time())
        await asyncio.sleep(0.02)
    assert high.lease.holds(), "the higher-priority process never took the lease"
    assert not low.lease.holds()
    assert not both
    for task in (keepalive, low.task, high.task):
        task.cancel()


async def test_a_restarted_process_clears_the_mark_its_predecessor_left(
    kube: KubeClients, peering: str
) -> None:
    first = Running(lease(kube, peering, "pod-a", priority=0))
    await first.lease.guard(wait=10)
    first.pause()  # killed; the same Pod's next container keeps the record under pod-a alive
    keepalive = asyncio.create_task(kopf_keepalive(kube, peering, "pod-a", priority=-5))
    again = Running(lease(kube, peering, "pod-a", priority=-5))
    other = Running(lease(kube, peering, "pod-b", priority=5))
    await other.lease.guard(wait=LIFETIME * 2)  # not held back by the dead mark under pod-a's name
    with pytest.raises(NotActive):
        await again.lease.guard(wait=1)
    for task in (keepalive, again.task, other.task):
        task.cancel()


async def kopf_keepalive(kube: KubeClients, namespace: str, identity: str, priority: int) -> None:
    """What kopf's keep-alive does: a merge patch of the process's record, every second."""
    from kopf._core.engines.peering import Identity, Peer

    while True:
        record = Peer(identity=Identity(identity), priority=priority, lifetime=LIFETIME).as_dict()
        await asyncio.to_thread(
            kube.custom.patch_namespaced_custom_object,
            "kopf.dev", "v1", namespace, "kopfpeerings", PEERING, {"status": {identity: record}},
        )  # fmt: skip
        await asyncio.sleep(1)


async def test_a_stopping_process_starts_no_write_and_a_stopping_standby_never_takes_over(
    kube: KubeClients, peering: str
) -> None:
    active = Running(lease(kube, peering, "active", priority=10))
    await active.lease.guard(wait=10)
    standby = Running(lease(kube, peering, "standby", priority=0))
    standby.lease.stopping = True  # both got SIGTERM (helm uninstall)
    active.lease.stopping = True
    with pytest.raises(NotActive, match="stopping"):
        await active.lease.guard(wait=0)
    active.task.cancel()
    await asyncio.to_thread(  # the active process left the peering as kopf does on stopping
        kube.custom.patch_namespaced_custom_object,
        "kopf.dev", "v1", peering, "kopfpeerings", PEERING, {"status": {"active": None}},
    )  # fmt: skip
    with pytest.raises(NotActive, match="stopping"):
        await standby.lease.guard(wait=0)
    await asyncio.sleep(LIFETIME / 2)  # two rounds of its lease loop, with no one in its way
    body = await asyncio.to_thread(
        kube.custom.get_namespaced_custom_object, "kopf.dev", "v1", peering, "kopfpeerings", PEERING
    )
    assert "lease" not in ((body.get("status") or {}).get("standby") or {})  # it took nothing
    assert not standby.lost
    standby.task.cancel()
