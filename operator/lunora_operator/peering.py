"""One active operator per namespace: `lunora-operator run` joins a kopf peering by default, so a
second process started on the same namespaces (a second replica, a local run against the
cluster) pauses instead of reconciling the same objects twice.

kopf keeps each process's priority and keep-alive in the peering object's status and pauses
every process that sees a live peer with a higher (or the same) priority. By default the
priority comes from the start time, so the process already working stays active and a newcomer
waits behind it; when the active one stops it removes itself and the next takes over at once
(after a crash, once its keep-alive has expired: `--peering-lifetime`, 10 s by default where
kopf's own default is 60 s). The write lease at the end of this module fences the Cloudflare
writes of a process that was paused past its keep-alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import kopf

# kopf's own record of a peer (priority, lifetime, last keep-alive; dead or alive), so that the
# lease below judges a record exactly as kopf's peering does (kopf is pinned exactly).
from kopf._core.engines.peering import Identity, Peer
from kubernetes import client
from kubernetes.client.exceptions import ApiException

logger = logging.getLogger(__name__)

GROUP = "kopf.dev"
VERSION = "v1"
DEFAULT_PEERING = "lunora-operator"
GLOB_CHARACTERS = frozenset("*?[")


class PeeringUnavailable(RuntimeError):
    """The peering cannot be joined; the text says what to install or allow."""


def start_time_priority(started: float) -> int:
    """The earlier a process started, the higher its priority (milliseconds, negated): an
    explicit `--priority` of 0 or more beats every process that did not set one."""
    return -int(started * 1000)


def ensure_peering_objects(
    api: client.ApiClient, name: str, namespaces: Sequence[str], clusterwide: bool
) -> None:
    """Creates the peering object kopf patches (a ClusterKopfPeering for a cluster-wide operator,
    a KopfPeering in each namespace otherwise); one that exists is left as it is. Namespace
    patterns cannot be resolved here: their objects must be created beforehand."""
    custom = client.CustomObjectsApi(api)
    kind = "ClusterKopfPeering" if clusterwide else "KopfPeering"
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}}
    places: list[str | None] = [None] if clusterwide else list(namespaces)
    for namespace in places:
        if namespace is not None and GLOB_CHARACTERS & set(namespace):
            logger.warning(
                'create KopfPeering "%s" in each namespace matching %s; until it exists there, the operator '
                "waits in those namespaces",
                name,
                namespace,
            )
            continue
        try:
            if namespace is None:
                custom.create_cluster_custom_object(GROUP, VERSION, "clusterkopfpeerings", body)
            else:
                custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "kopfpeerings", body)
        except ApiException as error:
            if error.status == 409:
                continue
            where = "cluster-wide" if namespace is None else f"in namespace {namespace}"
            if error.status == 404:
                raise PeeringUnavailable(
                    f"cannot create {kind} {name!r} {where}: the peering CRDs (kopfpeerings.kopf.dev, "
                    "clusterkopfpeerings.kopf.dev) are not installed"
                    + ("" if namespace is None else " or the namespace does not exist")
                    + ". Install crds/kopf/peering.yaml, or run a single process with --standalone"
                ) from None
            if error.status == 403 and _exists(custom, name, namespace):
                continue
            if error.status == 403:
                raise PeeringUnavailable(
                    f"cannot create {kind} {name!r} {where}: the operator may not create {kind} objects; "
                    "grant it create, get, list, watch and patch on them, or create the object beforehand"
                ) from None
            raise PeeringUnavailable(
                f"cannot create {kind} {name!r} {where}: {error.status} {error.reason}"
            ) from None


def _exists(custom: client.CustomObjectsApi, name: str, namespace: str | None) -> bool:
    try:
        if namespace is None:
            custom.get_cluster_custom_object(GROUP, VERSION, "clusterkopfpeerings", name)
        else:
            custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "kopfpeerings", name)
    except ApiException:
        return False
    return True


# --- the write lease: fencing the Cloudflare writes of a process that was paused -------------------
#
# kopf's peering decides which process is active from the keep-alives in the peering object, but a
# process that is paused (SIGSTOP, a frozen VM, a long GC pause) past its keep-alive's lifetime still
# believes it is active when it wakes, and may send a write it prepared before the pause while the
# standby that took over in the meantime acts too. kopf has no lock per object; the lease below is
# the fence. The active process marks its own record in the peering object with a token (kopf
# ignores the field and keeps it across its merge-patched keep-alives); it takes the mark only by
# compare-and-swap on the object's resourceVersion, when no other live process holds one or ranks
# above it, and renews it by a JSON-patch `test` of its token. A process writes to Cloudflare only
# while its last renewal is younger than half the lifetime by its monotonic clock (which keeps
# running while the process is stopped), so its writes end before any peer can see its record
# expire. The standby that takes over removes the dead record, token and all, so the paused
# process's next renewal fails its `test` on waking: it has lost the lease, writes nothing more and
# stops (restarted, it starts later than the new active process and waits behind it). What no
# fence without the server's help closes: a request that had left the process, or that was paused
# between the lease check and the socket, still arrives; Cloudflare offers no conditional writes.

DEFAULT_LIFETIME = 10
LEASE_FIELD = "lease"


class NotActive(RuntimeError):
    """This process may not write now: it does not hold the peering's write lease."""


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _peers(body: Mapping[str, Any]) -> dict[str, Peer]:
    status = body.get("status") or {}
    return {
        identity: Peer(identity=Identity(identity), **record)
        for identity, record in status.items()
        if isinstance(record, Mapping)
    }


@dataclass(frozen=True)
class PeerView:
    """One process in a peering object, as `lunora-operator status` shows it."""

    identity: str
    priority: int
    alive: bool
    holds_lease: bool
    seconds_since_keepalive: float


def describe_peers(body: Mapping[str, Any]) -> list[PeerView]:
    now = datetime.datetime.now(datetime.UTC)
    status = body.get("status") or {}
    views = []
    for identity, peer in sorted(_peers(body).items(), key=lambda item: -item[1].priority):
        record = status.get(identity) or {}
        views.append(
            PeerView(
                identity=identity,
                priority=peer.priority,
                alive=not peer.is_dead,
                holds_lease=bool(record.get(LEASE_FIELD)),
                seconds_since_keepalive=(now - peer.lastseen).total_seconds(),
            )
        )
    return views


class PeeringObjects:
    """The peering objects of one process (a ClusterKopfPeering, or a KopfPeering per namespace)
    through the official client, each call in a worker thread."""

    def __init__(self, api: client.ApiClient, name: str, namespace: str | None) -> None:
        self.custom = client.CustomObjectsApi(api)
        self.name = name
        self.namespace = namespace

    def __repr__(self) -> str:
        where = "cluster-wide" if self.namespace is None else f"in {self.namespace}"
        return f"peering {self.name!r} {where}"

    async def get(self) -> dict[str, Any]:
        if self.namespace is None:
            call = functools.partial(
                self.custom.get_cluster_custom_object, GROUP, VERSION, "clusterkopfpeerings", self.name
            )
        else:
            call = functools.partial(
                self.custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                "kopfpeerings",
                self.name,
            )
        result: object = await asyncio.to_thread(call)
        return cast(dict[str, Any], result)

    async def json_patch(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"_content_type": "application/json-patch+json"}
        if self.namespace is None:
            call = functools.partial(
                self.custom.patch_cluster_custom_object,
                GROUP,
                VERSION,
                "clusterkopfpeerings",
                self.name,
                operations,
                **kwargs,
            )
        else:
            call = functools.partial(
                self.custom.patch_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                "kopfpeerings",
                self.name,
                operations,
                **kwargs,
            )
        result: object = await asyncio.to_thread(call)
        return cast(dict[str, Any], result)


class WriteLease:
    """The fence described above, over the process's peering objects (all of them must be held:
    kopf pauses a process that conflicts in any of its namespaces)."""

    def __init__(
        self,
        objects: Sequence[PeeringObjects],
        identity: str,
        settings: kopf.OperatorSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.objects = list(objects)
        self.identity = identity
        self.settings = settings
        self.clock = clock
        self.token = uuid.uuid4().hex
        self._valid_until: dict[int, float] = {}
        self._held: set[int] = set()
        self.lost: str | None = None
        self.stopping = False
        """Set when the process begins to stop: it starts no write and takes no lease any more."""
        self._changed = asyncio.Condition()
        self._poke = asyncio.Event()

    @property
    def lifetime(self) -> float:
        return float(self.settings.peering.lifetime)

    def holds(self) -> bool:
        now = self.clock()
        return (
            self.lost is None
            and not self.stopping
            and all(
                index in self._held and now < self._valid_until.get(index, 0.0)
                for index in range(len(self.objects))
            )
        )

    async def guard(self, wait: float | None = None) -> None:
        """Returns when this process may write; raises NotActive when it still may not after
        `wait` seconds (default: one lifetime) or has lost the lease."""
        deadline = self.clock() + (self.lifetime if wait is None else wait)
        async with self._changed:
            while not self.holds():
                if self.lost is not None:
                    raise NotActive(self.lost)
                if self.stopping:
                    raise NotActive("this operator process is stopping")
                remaining = deadline - self.clock()
                if remaining <= 0:
                    raise NotActive(
                        "this operator process is not the active one of its peering (another process "
                        "holds the write lease, or the API server cannot be reached to renew it)"
                    )
                self._poke.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 1.0))

    async def run(self, on_lost: Callable[[str], None]) -> None:
        """Takes and renews the lease for as long as the process runs."""
        while True:
            next_round = self.lifetime / 4
            try:
                for index, objects in enumerate(self.objects):
                    next_round = min(next_round, await self._step(index, objects))
            except _Lost as lost:
                if self.stopping:  # kopf removed the record as it stopped
                    return
                self.lost = str(lost)
                logger.error("%s", self.lost)
                await self._notify()
                on_lost(self.lost)
                return
            except Exception as error:  # the API server unreachable: the lease runs out locally
                logger.warning("cannot renew the peering's write lease: %s", error)
            await self._notify()
            self._poke.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), timeout=max(0.2, next_round))

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _record(self, lease: bool) -> dict[str, Any]:
        peer = Peer(
            identity=Identity(self.identity),
            priority=self.settings.peering.priority,
            lifetime=self.settings.peering.lifetime,
        )
        return {**peer.as_dict(), **({LEASE_FIELD: self.token} if lease else {})}

    async def _step(self, index: int, objects: PeeringObjects) -> float:
        """One round on one peering object; returns the seconds until the next is due."""
        me = _pointer(self.identity)
        body = await objects.get()
        peers = _peers(body)
        status = body.get("status") or {}
        others = {identity: peer for identity, peer in peers.items() if identity != self.identity}
        live = [peer for peer in others.values() if not peer.is_dead]
        priority = self.settings.peering.priority
        above = [peer for peer in live if peer.priority >= priority]
        holders = [peer for peer in live if (status.get(peer.identity) or {}).get(LEASE_FIELD)]
        now = datetime.datetime.now(datetime.UTC)
        # Look again as soon as a process in the way would expire.
        expiries = [(peer.deadline - now).total_seconds() + 0.1 for peer in above + holders]
        sent = self.clock()
        mine = status.get(self.identity) or {}
        if mine.get(LEASE_FIELD) not in (None, self.token):
            # Left by an earlier process under this identity (a container restarted in its Pod,
            # POD_ID being the Pod's name): it is gone, and its mark must not hold others back.
            with contextlib.suppress(ApiException):
                await objects.json_patch(
                    [
                        {"op": "test", "path": f"/status/{me}/{LEASE_FIELD}", "value": mine[LEASE_FIELD]},
                        {"op": "remove", "path": f"/status/{me}/{LEASE_FIELD}"},
                    ]
                )
        if index in self._held:
            record = self._record(lease=True)
            try:
                await objects.json_patch(
                    [
                        {"op": "test", "path": f"/status/{me}/{LEASE_FIELD}", "value": self.token},
                        *(
                            {"op": "replace", "path": f"/status/{me}/{key}", "value": value}
                            for key, value in record.items()
                            if key != LEASE_FIELD
                        ),
                    ]
                )
            except ApiException as error:
                if error.status in (404, 409, 422):
                    raise _Lost(
                        f"{objects}: another operator process took over while this one could not renew its "
                        f"write lease (paused or cut off for longer than {self.lifetime:g} s); stopping without "
                        "writing anything more. Restarted, it waits behind the active process."
                    ) from None
                raise
            if above:
                await self._release(index, objects, above)
            else:
                self._valid_until[index] = sent + self.lifetime / 2
            return min([self.lifetime / 4, *expiries])
        if above or holders or self.stopping:
            return min([self.lifetime / 4, *expiries])
        # Take it: only if the object is still what was looked at (no one took it meanwhile). The
        # records of dead processes go, tokens and all, so a paused holder finds it lost on waking.
        dead = [identity for identity, peer in others.items() if peer.is_dead]
        operations: list[dict[str, Any]] = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": body["metadata"]["resourceVersion"]},
            *({"op": "remove", "path": f"/status/{_pointer(identity)}"} for identity in dead),
        ]
        if "status" in body and isinstance(body["status"], Mapping):
            operations.append({"op": "add", "path": f"/status/{me}", "value": self._record(lease=True)})
        else:
            operations.append(
                {"op": "add", "path": "/status", "value": {self.identity: self._record(lease=True)}}
            )
        try:
            await objects.json_patch(operations)
        except ApiException as error:
            if error.status in (409, 422):
                return 0.2  # changed meanwhile: look again
            raise
        self._held.add(index)
        self._valid_until[index] = sent + self.lifetime / 2
        logger.info("%s: this process holds the write lease", objects)
        return self.lifetime / 4

    async def _release(self, index: int, objects: PeeringObjects, above: Sequence[Peer]) -> None:
        self._held.discard(index)
        self._valid_until.pop(index, None)
        logger.info("%s: releasing the write lease to %s", objects, ", ".join(p.identity for p in above))
        with contextlib.suppress(ApiException):
            await objects.json_patch(
                [
                    {
                        "op": "test",
                        "path": f"/status/{_pointer(self.identity)}/{LEASE_FIELD}",
                        "value": self.token,
                    },
                    {"op": "remove", "path": f"/status/{_pointer(self.identity)}/{LEASE_FIELD}"},
                ]
            )


class _Lost(Exception):
    pass
