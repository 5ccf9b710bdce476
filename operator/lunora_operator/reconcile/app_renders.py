"""Each app's shared run: debounced (one coordinator per app), run through the app's pipeline,
its status written and its Events posted; the containers that waited on the app's error are
woken once it clears. Containers ask for a run; nothing here calls back up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from lunora_operator.api.status import LunoraAppStatus
from lunora_operator.clock import Clock
from lunora_operator.cloudflare import CloudflareClients
from lunora_operator.kube.gateway import KubeUnavailable
from lunora_operator.metrics import APP_RENDERS
from lunora_operator.reconcile.app_pipeline import AppPipeline
from lunora_operator.reconcile.app_run import AppMemory, AppOutcome
from lunora_operator.reconcile.app_status import app_facts, app_ready_message
from lunora_operator.reconcile.coordinator import AppCoordinator
from lunora_operator.reconcile.errors import StepError, Transient
from lunora_operator.reconcile.loops import Loops
from lunora_operator.reconcile.records import AppKey, AppRecord, Inventory, requested_at
from lunora_operator.reconcile.status import StatusDraft, next_status
from lunora_operator.reconcile.status_writer import EventSink, StatusWriter

logger = logging.getLogger(__name__)

APPS = "lunoraapps"


def internal(error: Exception) -> StepError:
    return Transient("InternalError", f"unexpected {type(error).__name__}; see the operator log")


class AppRenders:
    def __init__(
        self,
        pipeline: AppPipeline,
        cloudflare: CloudflareClients,
        inventory: Inventory,
        status: StatusWriter,
        loops: Loops,
        events: EventSink,
        clock: Clock,
        quiet: float = 0.2,
        max_delay: float = 2.0,
    ) -> None:
        self._pipeline = pipeline
        self._cloudflare = cloudflare
        self._inventory = inventory
        self._status = status
        self._loops = loops
        self._events = events
        self._clock = clock
        self._quiet = quiet
        self._max_delay = max_delay
        self._coordinators: dict[AppKey, AppCoordinator] = {}
        self._background: set[asyncio.Task[Any]] = set()

    def coordinator(self, key: AppKey) -> AppCoordinator:
        if key not in self._coordinators:

            async def run_app(memory: AppMemory, observe: bool) -> AppOutcome:
                return await self._run(key, memory, observe)

            self._coordinators[key] = AppCoordinator(run_app, self._quiet, self._max_delay, self._clock)
        return self._coordinators[key]

    def known(self, key: AppKey) -> AppCoordinator | None:
        """The app's coordinator, if this process has one (nothing is created)."""
        return self._coordinators.get(key)

    async def request(self, key: AppKey, observe_cloudflare: bool = False) -> AppOutcome:
        """The outcome of the app's next run (which this request may share with others)."""
        return await self.coordinator(key).request(observe_cloudflare=observe_cloudflare)

    def note_image(self, key: AppKey, container: str, reference: str) -> None:
        """The image a container's last pass resolved, for the app's renders."""
        self.coordinator(key).memory.image_refs[container] = reference

    async def reconcile(self, record: AppRecord, observe_cloudflare: bool = True) -> AppOutcome:
        """The app's own pass: the progress status for a new generation, then a run."""
        if not (record.wire.get("spec") or {}).get("suspend"):
            await self._status.mark_progressing(APPS, LunoraAppStatus, record.body)
        return await self.request(record.key, observe_cloudflare)

    def rerender(self, key: AppKey) -> None:
        """A run soon, without waiting for it (a container left the app); errors are logged."""
        self._in_background(self.coordinator(key).request())

    def forget(self, key: AppKey) -> None:
        """The app and all its containers are gone: drop what this process kept for them."""
        coordinator = self._coordinators.pop(key, None)
        if coordinator is not None:
            self._in_background(coordinator.close())
        self._cloudflare.release(key)

    async def settled(self) -> None:
        """Waits for the work started in the background so far (reruns, closing renders)."""
        await asyncio.gather(*self._background, return_exceptions=True)

    def _in_background(self, work: Awaitable[Any]) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:
                logger.exception("background work failed")

        task = asyncio.ensure_future(guarded())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run(self, key: AppKey, memory: AppMemory, observe: bool) -> AppOutcome:
        record = self._inventory.app(key)
        if record is not None and memory.app_uid not in (None, record.uid):
            # A new LunoraApp under an old name: nothing the old one learnt holds for it.
            fresh = AppMemory(app_uid=record.uid, image_refs=memory.image_refs, released=memory.released)
            vars(memory).update(vars(fresh))
        if record is not None:
            memory.app_uid = record.uid
        known = self.known(key)
        previous = known.last if known is not None else None
        try:
            outcome = await self._pipeline.run(key, memory, observe)
        except Exception as error:  # a bug must not take every container's loop down with it
            logger.exception("the render of LunoraApp %s/%s failed", *key)
            outcome = AppOutcome(
                draft=StatusDraft(record.generation if record else None), error=internal(error)
            )
        APP_RENDERS.labels(*key).inc()
        if outcome.error is None and (previous is None or previous.error is not None):
            for container in self._inventory.containers(key):  # those stopped at the app's error go on
                self._loops.wake(container.uid)
        if record is not None:
            await self._report(record, outcome)
        return outcome

    async def _report(self, record: AppRecord, outcome: AppOutcome) -> None:
        for event in outcome.events:
            self._events(record.body, *event)
        if outcome.suspended:
            return
        body = record.body
        previous = self._status.previous(LunoraAppStatus, body)
        outcome.draft.summarise(outcome.error, app_ready_message(outcome))
        status = next_status(
            previous,
            app_facts(outcome, previous),
            outcome.draft,
            self._clock.now(),
            requested_at(record.wire),
        )
        try:
            await self._status.write(APPS, body, status)
        except KubeUnavailable as error:
            logger.warning("writing the status of LunoraApp %s/%s failed: %s", *record.key, error)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for coordinator in self._coordinators.values():
            await coordinator.close()
