"""One pass over a LunoraContainer as the loop runs it: the progress status for a new generation,
the steps, the status they add up to, and the Events of what they changed on Cloudflare."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lunora_operator.api.status import LunoraContainerStatus
from lunora_operator.clock import Clock
from lunora_operator.metrics import RECONCILES
from lunora_operator.reconcile.container import ContainerDeps, reconcile_container
from lunora_operator.reconcile.container_status import container_facts
from lunora_operator.reconcile.errors import StepError
from lunora_operator.reconcile.records import ContainerRecord, Inventory, requested_at
from lunora_operator.reconcile.status import next_status
from lunora_operator.reconcile.status_writer import EventSink, StatusWriter

CONTAINERS = "lunoracontainers"


class ContainerPasses:
    def __init__(
        self, deps: ContainerDeps, status: StatusWriter, inventory: Inventory, events: EventSink, clock: Clock
    ) -> None:
        self.deps = deps
        self._status = status
        self._inventory = inventory
        self._events = events
        self._clock = clock

    def _suspended(self, body: Mapping[str, Any], record: ContainerRecord) -> bool:
        """A suspended container, or one of a suspended app: not even the progress status is written."""
        if (body.get("spec") or {}).get("suspend"):
            return True
        app = self._inventory.app(record.app_key)
        return app is not None and bool((app.wire.get("spec") or {}).get("suspend"))

    async def run(self, body: Mapping[str, Any]) -> StepError | None:
        """One pass; returns the error that stopped it (None when done)."""
        record = ContainerRecord.from_body(body)
        if self._suspended(body, record):
            return None
        await self._status.mark_progressing(CONTAINERS, LunoraContainerStatus, body)
        run = await reconcile_container(record, self.deps)
        if run.suspended:
            return None
        now = self._clock.now()
        previous = self._status.previous(LunoraContainerStatus, body)
        facts = container_facts(run, previous, now)
        await self._status.write(
            CONTAINERS, body, next_status(previous, facts, run.draft, now, requested_at(body))
        )
        for event in run.events:
            self._events(body, *event)
        RECONCILES.labels(CONTAINERS, run.error.kind if run.error else "ready").inc()
        return run.error
