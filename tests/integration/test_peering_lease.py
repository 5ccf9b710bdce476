"""The peering's write lease against the real API server: one holder at a time, a holder that
stops renewing (paused) stops writing by its own clock, a standby takes the lease once the
holder's record expired, and the paused holder, woken, finds it lost instead of writing; kopf's
clean-up of dead peers, run by a woken process on a stale event, leaves the live holder alone."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
from collections.abc import AsyncIterator
from typing import Any

import kopf
import pytest
import yaml

from lunora_operator.peering import NotActive, PeeringObjects, WriteLease, use_fresh_dead_peer_cleanup
from lunora_operator.testing.environment import TestEnvironment
from tests.support.kube import KubeClients

pytestmark = [pytest.mark.apiserver, pytest.mark.timeout(120)]
LIFETIME = 4
PEERING = "lease-test"


class CutOff(PeeringObjects):
    """The peering object as a process reaches it: `cut` makes the API server unreachable."""

    cut = False

    async def get(self) -> dict[str, Any]:
        if self.cut:
            raise ConnectionRefusedError("the API server is out of reach")
        return await super().get()

    async def json_patch(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        if self.cut:
            raise ConnectionRefusedError("the API server is out of reach")
        return await super().json_patch(operations)


def lease(kube: KubeClients, namespace: str, identity: str, priority: int) -> WriteLease:
    settings = kopf.OperatorSettings()
    settings.peering.lifetime = LIFETIME
    settings.peering.priority = priority
    return WriteLease([CutOff(kube.api, PEERING, namespace)], identity, settings)


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


async def test_a_lease_that_lapsed_with_nobody_taking_it_is_taken_again(
    kube: KubeClients, peering: str
) -> None:
    """The API server out of reach past the lifetime: kopf, back, cleans the process's own expired
    record (lease mark and all). With no other process there, that is no takeover: the lease is
    taken again instead of the process stopping."""
    alone = Running(lease(kube, peering, "alone", priority=0))
    await alone.lease.guard(wait=10)
    reach = alone.lease.objects[0]
    assert isinstance(reach, CutOff)
    reach.cut = True  # renewals fail
    await asyncio.sleep(LIFETIME + 0.5)
    with pytest.raises(NotActive):
        await alone.lease.guard(wait=0)
    await asyncio.to_thread(  # what kopf's clean-up of a dead peer sends
        kube.custom.patch_namespaced_custom_object,
        "kopf.dev", "v1", peering, "kopfpeerings", PEERING, {"status": {"alone": None}},
    )  # fmt: skip

    reach.cut = False
    await alone.lease.guard(wait=LIFETIME)
    assert alone.lost == []
    alone.task.cancel()


async def test_a_paused_holder_that_ranks_first_again_on_waking_still_stops(
    kube: KubeClients, peering: str
) -> None:
    """Paused past its lifetime, the holder's lease was taken by the standby, which wrote and,
    once the woken holder's keep-alive was back (it ranks first), released the lease to it. Its
    renewals never failed: the gap was a pause, its view is stale, so it stops rather than take
    the lease again as after an outage."""
    first = Running(lease(kube, peering, "first", priority=10))
    await first.lease.guard(wait=10)
    second = Running(lease(kube, peering, "second", priority=0))
    first.pause()
    await second.lease.guard(wait=LIFETIME * 3)  # the standby took over
    keepalive = asyncio.create_task(kopf_keepalive(kube, peering, "first", priority=10))  # woken kopf
    for _ in range(100):  # the standby releases to the process that ranks first
        if not second.lease.holds():
            break
        await asyncio.sleep(0.1)
    assert not second.lease.holds()

    first.wake()
    for _ in range(100):
        if first.lost:
            break
        await asyncio.sleep(0.1)
    assert first.lost, "the woken holder took the lease again with what it knew before its pause"
    with pytest.raises(NotActive):
        await first.lease.guard(wait=0)
    for task in (keepalive, first.task, second.task):
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


@contextlib.asynccontextmanager
async def kopf_credentials(testenv: TestEnvironment) -> AsyncIterator[None]:
    """kopf's API calls authenticated as the operator's are (its credentials vault)."""
    from kopf._cogs.clients import auth
    from kopf._cogs.structs.credentials import Vault

    cluster = yaml.safe_load(testenv.kubeconfig.read_text())
    server = cluster["clusters"][0]["cluster"]
    user = cluster["users"][0]["user"]
    vault = Vault()
    await vault.populate(
        {
            "test": kopf.ConnectionInfo(
                server=server["server"],
                ca_path=server["certificate-authority"],
                certificate_path=user["client-certificate"],
                private_key_path=user["client-key"],
            )
        }
    )
    token = auth.vault_var.set(vault)
    try:
        yield
    finally:
        auth.vault_var.reset(token)
        await vault.close()


async def test_a_woken_process_processing_a_stale_peering_event_leaves_the_live_holder_alone(
    kube: KubeClients, peering: str, testenv: TestEnvironment
) -> None:
    """kopf judges a peer dead by the time it processes an event, not the time it was sent: a
    process woken from a pause processes the events buffered before it, in which the live holder's
    keep-alive is old. Only records dead in a fresh read may go (the holder keeps its record and
    its lease); a record dead in the fresh read still goes, as kopf tidies up."""
    from kopf._cogs.structs import references
    from kopf._core.engines import peering as kopf_peering

    holder = Running(lease(kube, peering, "holder", priority=0))
    await holder.lease.guard(wait=10)
    long_ago = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=LIFETIME * 5)).isoformat()
    gone = {"priority": -5, "lifetime": LIFETIME, "lastseen": long_ago}
    await asyncio.to_thread(
        kube.custom.patch_namespaced_custom_object,
        "kopf.dev", "v1", peering, "kopfpeerings", PEERING, {"status": {"gone": gone}},
    )  # fmt: skip
    fresh = await asyncio.to_thread(
        kube.custom.get_namespaced_custom_object, "kopf.dev", "v1", peering, "kopfpeerings", PEERING
    )
    # The woken process's view: the same object, as an event from before its pause carried it.
    stale = copy.deepcopy(fresh)
    stale["status"]["holder"]["lastseen"] = long_ago
    settings = kopf.OperatorSettings()
    settings.peering.name = PEERING
    settings.peering.lifetime = LIFETIME
    settings.peering.priority = 100
    resource = references.Resource(
        group="kopf.dev", version="v1", plural="kopfpeerings", kind="KopfPeering", namespaced=True
    )
    use_fresh_dead_peer_cleanup()
    async with kopf_credentials(testenv):
        await kopf_peering.process_peering_event(
            raw_event={"type": "MODIFIED", "object": stale},  # type: ignore[typeddict-item]
            namespace=peering,
            resource=resource,
            identity=kopf_peering.Identity("woken"),
            settings=settings,
        )

    after = await asyncio.to_thread(
        kube.custom.get_namespaced_custom_object, "kopf.dev", "v1", peering, "kopfpeerings", PEERING
    )
    assert "gone" not in after["status"]
    assert after["status"]["holder"]["lease"] == fresh["status"]["holder"]["lease"]
    await asyncio.sleep(LIFETIME / 2)  # renewals go on
    assert not holder.lost
    await holder.lease.guard(wait=0)
    holder.task.cancel()
