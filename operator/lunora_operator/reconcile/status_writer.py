"""Writes the status of both kinds: only what changed (a merge patch from the status as last
seen), remembering what this process wrote until the watch shows it (read-your-writes), with an
Event when `Ready` flips. resourceVersions are opaque: compared for equality only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lunora_operator.api.status import CommonStatus
from lunora_operator.clock import Clock
from lunora_operator.kube.gateway import Kube
from lunora_operator.metrics import STATUS_WRITES
from lunora_operator.reconcile.conditions import READY, find
from lunora_operator.reconcile.status import StatusT, merge_patch, parse_status, progress_status


class EventSink(Protocol):
    def __call__(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None: ...


def no_events(body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
    return None


def transition_event(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """An Event only when `Ready` changes status (or first appears): (type, reason, message)."""
    before = find((old or {}).get("conditions"), READY)
    after = find(new.get("conditions"), READY)
    if after is None or (before is not None and before.get("status") == after.get("status")):
        return None
    if after.get("status") == "True":
        return ("Normal", str(after.get("reason")), str(after.get("message") or "ready"))
    if after.get("status") == "False":
        return ("Warning", str(after.get("reason")), str(after.get("message") or "not ready"))
    return None


@dataclass
class _Written:
    status: Mapping[str, Any]
    """What this process wrote last."""
    older: set[str] = field(default_factory=set)
    """resourceVersions the object had before that write: a body at one of them is behind it."""


def _identity(body: Mapping[str, Any]) -> tuple[str, str, str, str]:
    metadata = body.get("metadata") or {}
    return (
        str(metadata.get("uid")),
        str(metadata.get("namespace")),
        str(metadata.get("name")),
        str(metadata.get("resourceVersion") or ""),
    )


class StatusWriter:
    def __init__(self, kube: Kube, clock: Clock, events: EventSink = no_events) -> None:
        self._kube = kube
        self._clock = clock
        self._events = events
        self._written: dict[str, _Written] = {}
        self.writes = 0

    def current(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The object's status: the watched body's, unless the body is from before our own last
        write (then what we wrote)."""
        uid, _, _, seen = _identity(body)
        written = self._written.get(uid)
        if written is not None and seen in written.older:
            return written.status
        self._written.pop(uid, None)  # the body has caught up (or moved past): trust it
        return body.get("status") or {}

    def previous(self, model: type[StatusT], body: Mapping[str, Any]) -> StatusT:
        return parse_status(model, self.current(body))

    def forget(self, uid: str) -> None:
        self._written.pop(uid, None)

    async def _patch(self, plural: str, body: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        previous = self.current(body)
        patch = merge_patch(previous, new)
        if not patch:
            return False
        uid, namespace, name, seen = _identity(body)
        older = self._written[uid].older if uid in self._written else set()
        version = await self._kube.patch_status(plural, namespace, name, patch)
        self.writes += 1
        STATUS_WRITES.labels(plural).inc()
        if version is not None:
            self._written[uid] = _Written(new, (older | {seen}) - {version})
        if event := transition_event(previous, new):
            self._events(body, *event)
        return True

    async def write(self, plural: str, body: Mapping[str, Any], status: CommonStatus) -> bool:
        """Writes what differs from the status as last seen; False when nothing did."""
        return await self._patch(plural, body, status.to_wire())

    async def mark_progressing(self, plural: str, model: type[CommonStatus], body: Mapping[str, Any]) -> None:
        """The first write of a new generation: Ready=Unknown/Progressing, Reconciling=True."""
        status = self.previous(model, body)
        generation = (body.get("metadata") or {}).get("generation")
        if status.observed_generation == generation:
            return
        ready = next((c for c in status.conditions or () if c.type == READY), None)
        if ready is not None and ready.reason == "Progressing" and ready.observed_generation == generation:
            return
        message = f"reconciling generation {generation}"
        await self.write(plural, body, progress_status(status, generation, message, self._clock.now()))
