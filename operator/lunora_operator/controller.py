"""The running operator: one reconcile loop per resource, woken by changes and by the resync
interval, sharing one debounced render per app. kopf wiring lives in `handlers/`; everything
here is plain async code that tests drive directly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from lunora_operator.api.resources import LunoraApp
from lunora_operator.api.validation import ResourceInvalid
from lunora_operator.cloudflare import AccountClient, CloudflareClients, CloudflareError
from lunora_operator.kube.gateway import Kube, KubeRefused, KubeUnavailable
from lunora_operator.metrics import APP_RENDERS, RECONCILES, STATUS_WRITES
from lunora_operator.reconcile.app_pipeline import AppPipeline
from lunora_operator.reconcile.app_render import api_account, container_names
from lunora_operator.reconcile.app_run import AppMemory, AppOutcome, Inventory
from lunora_operator.reconcile.cloudflare_edge import step_error
from lunora_operator.reconcile.conditions import READY, find
from lunora_operator.reconcile.container import ContainerDeps, ImageResolver, reconcile_container
from lunora_operator.reconcile.coordinator import AppCoordinator
from lunora_operator.reconcile.errors import StepError, Transient, Waiting
from lunora_operator.reconcile.records import AppKey, AppRecord, ContainerRecord
from lunora_operator.reconcile.status import StatusDraft, merge_patch, next_status, progress_status

logger = logging.getLogger(__name__)

REQUESTED_AT = "reconcile.lunora.sh/requestedAt"
STALLED_RECHECK_SECONDS = 120.0
STATUS_LIST_LIMIT = 256
"""The most entries `LunoraApp.status.containers` / `durableObjectNamespaceIds` may hold."""
CONTAINERS = "lunoracontainers"
APPS = "lunoraapps"


@dataclass(frozen=True)
class ControllerSettings:
    resync_interval: float = 600.0
    """Seconds between drift checks of an object nothing changed."""
    render_quiet: float = 0.2
    render_max_delay: float = 2.0
    flavour: str = "lunora"


class EventSink(Protocol):
    def __call__(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None: ...


def _no_events(body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
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
class Wakeup:
    event: asyncio.Event = field(default_factory=asyncio.Event)
    handled: tuple[int, str | None] | None = None
    """(generation, requestedAt) the loop last reconciled."""


class Controller:
    def __init__(
        self,
        kube: Kube,
        cloudflare: CloudflareClients,
        images: ImageResolver,
        inventory: Inventory,
        settings: ControllerSettings | None = None,
        events: EventSink = _no_events,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.kube = kube
        self.cloudflare = cloudflare
        self.inventory = inventory
        self.settings = settings or ControllerSettings()
        self.events = events
        self.now = now
        self.pipeline = AppPipeline(kube, cloudflare, inventory, self.settings.flavour)
        self.coordinators: dict[AppKey, AppCoordinator] = {}
        self.wakeups: dict[str, Wakeup] = {}
        self.written: dict[str, tuple[str, Mapping[str, Any]]] = {}
        """uid -> (resourceVersion, status) of the last status this process wrote."""
        self.status_writes = 0
        self._background: set[asyncio.Task[Any]] = set()
        self.container_deps = ContainerDeps(
            kube=kube,
            inventory=inventory,
            images=images,
            coordinator_for=self.coordinator,
            account_for=self.account_for,
        )

    # --- shared pieces ------------------------------------------------------------------------

    def coordinator(self, key: AppKey) -> AppCoordinator:
        if key not in self.coordinators:

            async def run_app(memory: AppMemory, observe: bool) -> AppOutcome:
                return await self._run_app(key, memory, observe)

            self.coordinators[key] = AppCoordinator(
                run_app, quiet=self.settings.render_quiet, max_delay=self.settings.render_max_delay
            )
        return self.coordinators[key]

    async def account_for(self, app: LunoraApp, namespace: str) -> AccountClient:
        return await api_account(self.kube, self.cloudflare, app, namespace)

    def wakeup(self, uid: str) -> Wakeup:
        return self.wakeups.setdefault(uid, Wakeup())

    def notice(self, uid: str, generation: int, requested_at: str | None) -> None:
        """A watch event: wake the object's loop when its spec or reconcile request changed."""
        wakeup = self.wakeup(uid)
        if wakeup.handled != (generation, requested_at):
            wakeup.event.set()

    def forget(self, uid: str) -> None:
        self.wakeups.pop(uid, None)
        self.written.pop(uid, None)

    def watched(self, event_type: str, body: Mapping[str, Any]) -> None:
        """A watch event of either kind: wake the object's loop on a change of its spec or of
        its reconcile request; when a container is gone, its app renders without it."""
        metadata = body.get("metadata") or {}
        uid = str(metadata.get("uid"))
        if event_type == "DELETED":
            self.forget(uid)
            if body.get("kind") == "LunoraContainer":
                record = ContainerRecord.from_body(body)
                self.background(self.coordinator(record.app_key).request())
            return
        self.notice(uid, int(metadata.get("generation") or 0), _requested_at(body))

    def background(self, work: Awaitable[Any]) -> None:
        """Runs `work` without waiting for it; errors are logged, never lost silently."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                logger.exception("background work failed")

        task = asyncio.ensure_future(guarded())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for coordinator in self.coordinators.values():
            await coordinator.close()
        await self.cloudflare.aclose()

    # --- status ---------------------------------------------------------------------------------

    def _current_status(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The object's status: the watched body's, unless it has not caught up with our own
        last write yet (then what we wrote)."""
        metadata = body.get("metadata") or {}
        written = self.written.get(str(metadata.get("uid")))
        seen = str(metadata.get("resourceVersion") or "")
        if written is not None and seen.isdigit() and written[0].isdigit() and int(seen) < int(written[0]):
            return written[1]
        return body.get("status") or {}

    async def _patch_status(
        self, plural: str, body: Mapping[str, Any], previous: Mapping[str, Any], new: Mapping[str, Any]
    ) -> bool:
        patch = merge_patch(previous, new)
        if not patch:
            return False
        metadata = body.get("metadata") or {}
        version = await self.kube.patch_status(plural, metadata["namespace"], metadata["name"], patch)
        self.status_writes += 1
        STATUS_WRITES.labels(plural).inc()
        if version is not None:
            self.written[str(metadata.get("uid"))] = (version, new)
        return True

    async def _write_status(
        self, plural: str, body: Mapping[str, Any], draft: StatusDraft, requested_at: str | None
    ) -> Mapping[str, Any]:
        previous = self._current_status(body)
        if requested_at is not None:
            draft.fact("lastHandledReconcileAt", requested_at)
        new = next_status(previous, draft, self.now())
        if await self._patch_status(plural, body, previous, new) and (
            event := transition_event(previous, new)
        ):
            self.events(body, *event)
        return new

    async def _mark_progressing(self, plural: str, body: Mapping[str, Any]) -> None:
        """The first write of a new generation: Ready=Unknown/Progressing, Reconciling=True."""
        status = self._current_status(body)
        generation = (body.get("metadata") or {}).get("generation")
        if status.get("observedGeneration") == generation:
            return
        ready = find(status.get("conditions"), READY)
        if (
            ready is not None
            and ready.get("reason") == "Progressing"
            and ready.get("observedGeneration") == generation
        ):
            return
        new = progress_status(status, generation, f"reconciling generation {generation}", self.now())
        await self._patch_status(plural, body, status, new)

    # --- apps -----------------------------------------------------------------------------------

    async def _run_app(self, key: AppKey, memory: AppMemory, observe: bool) -> AppOutcome:
        record = self.inventory.app(key)
        if record is not None and memory.app_uid not in (None, record.uid):
            # A new LunoraApp under an old name: nothing the old one learnt holds for it.
            fresh = AppMemory(app_uid=record.uid, image_refs=memory.image_refs, released=memory.released)
            vars(memory).update(vars(fresh))
        if record is not None:
            memory.app_uid = record.uid
        previous = self.coordinator(key).last
        try:
            outcome = await self.pipeline.run(key, memory, observe)
        except Exception as error:  # a bug must not take every container's loop down with it
            logger.exception("the render of LunoraApp %s/%s failed", *key)
            outcome = AppOutcome(
                draft=StatusDraft(record.generation if record else None), error=internal(error)
            )
        APP_RENDERS.labels(*key).inc()
        if outcome.error is None and (previous is None or previous.error is not None):
            self._wake_containers(key)  # those that stopped at the app's error go on now
        if record is not None:
            for event in outcome.events:
                self.events(record.body, *event)
        if record is not None and not outcome.suspended:
            body = record.body
            requested = (record.wire.get("metadata") or {}).get("annotations", {}).get(REQUESTED_AT)
            draft = app_status(outcome)
            try:
                await self._write_status(APPS, body, draft, requested)
            except KubeUnavailable as error:
                logger.warning("writing the status of LunoraApp %s/%s failed: %s", *key, error)
        return outcome

    def _wake_containers(self, key: AppKey) -> None:
        for container in self.inventory.containers(key):
            if container.uid in self.wakeups:
                self.wakeups[container.uid].event.set()

    async def reconcile_app(self, body: Mapping[str, Any], observe_cloudflare: bool = True) -> AppOutcome:
        record = AppRecord.from_body(body)
        wakeup = self.wakeup(record.uid)
        wakeup.handled = (record.generation, _requested_at(record.wire))
        if not (body.get("spec") or {}).get("suspend"):
            await self._mark_progressing(APPS, body)
        return await self.coordinator(record.key).request(observe_cloudflare=observe_cloudflare)

    # --- containers -----------------------------------------------------------------------------

    async def reconcile_container(self, body: Mapping[str, Any]) -> StepError | None:
        """One pass over a container; returns the error that stopped it (None when done)."""
        record = ContainerRecord.from_body(body)
        requested = _requested_at(body)
        self.wakeup(record.uid).handled = (record.generation, requested)
        if (body.get("spec") or {}).get("suspend") or self._app_suspended(record):
            return None
        await self._mark_progressing(CONTAINERS, body)
        run = await reconcile_container(record, self.container_deps)
        if run.suspended:
            return None
        await self._write_status(CONTAINERS, body, run.draft, requested)
        for event in run.events:
            self.events(body, *event)
        RECONCILES.labels(CONTAINERS, run.error.kind if run.error else "ready").inc()
        return run.error

    def _app_suspended(self, record: ContainerRecord) -> bool:
        """A suspended app suspends its containers: not even the progress patch is written."""
        app = self.inventory.app(record.app_key)
        return app is not None and bool((app.wire.get("spec") or {}).get("suspend"))

    async def container_loop(self, body: Mapping[str, Any], stopped: Any) -> None:
        """A container's reconcile loop (a kopf daemon): reconcile, then sleep until a change,
        the retry delay of an error, or the resync interval."""
        uid = str(body["metadata"]["uid"])
        await self._loop(uid, stopped, lambda: self._container_pass(body))

    async def _container_pass(self, body: Mapping[str, Any]) -> float:
        try:
            error = await self.reconcile_container(body)
        except KubeUnavailable as error_:
            logger.warning("%s", error_)
            return self._after_kube_error(error_)
        return self._next_pass_in(error)

    def _after_kube_error(self, error: KubeUnavailable) -> float:
        """No answer: soon again. Refused (RBAC, an invalid write): at the next drift check."""
        return self.settings.resync_interval if isinstance(error, KubeRefused) else 5.0

    def _next_pass_in(self, error: StepError | None) -> float:
        """A retryable error's delay; a stalled resource every 2 minutes (what stalls it may be in a
        ConfigMap or Secret, which the operator does not watch); otherwise the drift interval."""
        if error is None:
            return self.settings.resync_interval
        if error.kind == "stalled":
            return min(STALLED_RECHECK_SECONDS, self.settings.resync_interval)
        return error.delay

    async def app_loop(self, body: Mapping[str, Any], stopped: Any) -> None:
        uid = str(body["metadata"]["uid"])

        async def one_pass() -> float:
            try:
                outcome = await self.reconcile_app(body)
            except KubeUnavailable as unavailable:
                logger.warning("%s", unavailable)
                return self._after_kube_error(unavailable)
            RECONCILES.labels(APPS, outcome.error.kind if outcome.error else "ready").inc()
            return self._next_pass_in(outcome.error)

        await self._loop(uid, stopped, one_pass)

    async def _loop(self, uid: str, stopped: Any, one_pass: Callable[[], Awaitable[float]]) -> None:
        wakeup = self.wakeup(uid)
        while not stopped:
            wakeup.event.clear()
            delay = await one_pass()
            woken = asyncio.ensure_future(wakeup.event.wait())
            halted = asyncio.ensure_future(stopped.wait(delay))
            try:
                await asyncio.wait({woken, halted}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in (woken, halted):
                    waiter.cancel()

    # --- deletion -------------------------------------------------------------------------------

    async def finalize_container(self, body: Mapping[str, Any]) -> None:
        """`deletionPolicy: Delete`: the application goes first, then the container leaves the
        config (its binding goes and a `deleted_classes` migration is recorded). Raises StepError
        while that cannot finish; the finalizer stays until it does."""
        record = ContainerRecord.from_body(body)
        app_record = self.inventory.app(record.app_key)
        memory = self.coordinators[record.app_key].memory if record.app_key in self.coordinators else None
        name = _deployed_application(body, app_record)
        if name is not None:
            account = await self._cleanup_account(record, app_record, memory)
            if account is None:
                self.events(
                    body,
                    "Warning",
                    "ApplicationLeft",
                    f"LunoraApp {record.app} and its API token are gone, so the Cloudflare application "
                    f"{name} was left in place; delete it with `wrangler containers delete`",
                )
                return
            try:
                live = await account.applications.delete(name)
            except CloudflareError as error:
                raise step_error(error) from None
            if live is not None:
                logger.info("deleted application %s (%s)", name, live.id)
        if app_record is None or app_record.deleting:
            return  # the app goes too: there is no config left to render it out of
        coordinator = self.coordinator(record.app_key)
        coordinator.memory.released.add(record.name)
        outcome = await coordinator.request()
        if record.name in outcome.rendered or outcome.error is not None:
            raise outcome.error or Waiting("RenderPending", "the config still lists the container")

    async def _cleanup_account(
        self, record: ContainerRecord, app_record: AppRecord | None, memory: AppMemory | None
    ) -> AccountClient | None:
        """The account to delete an application with: from the app's token, else the last one the
        app used; None when neither exists any more and the app is gone for good."""
        try:
            if app_record is None:
                raise Waiting("AppNotFound", f'LunoraApp "{record.app}" not found')
            return await self.account_for(app_record.resource(), record.namespace)
        except (StepError, ResourceInvalid):
            if memory is not None and memory.account is not None:
                return memory.account
            if app_record is None or app_record.deleting:
                return None
            raise

    async def finalize_app(self, body: Mapping[str, Any]) -> None:
        """An app deleted together with its containers (kubectl delete -f, a namespace going)
        stays until their finalizers have removed their applications with its token."""
        record = AppRecord.from_body(body)
        leaving = [c.name for c in self.inventory.containers(record.key) if c.deleting]
        if leaving:
            raise Waiting(
                "ContainersDeleting",
                f"waiting for LunoraContainer {', '.join(sorted(leaving))} to remove their Cloudflare applications",
                retry_after=2.0,
            )


def _deployed_application(body: Mapping[str, Any], app_record: AppRecord | None) -> str | None:
    """The application a container deployed: as its status recorded it, else as its spec and
    app name it (None when neither can say: nothing was deployed under a name we can know)."""
    recorded = (body.get("status") or {}).get("applicationName")
    if recorded:
        return str(recorded)
    if app_record is None:
        return None
    try:
        return container_names(
            ContainerRecord.from_body(body).resource(), app_record.resource()
        ).application_name
    except ResourceInvalid:
        return None


def internal(error: Exception) -> StepError:
    return Transient("InternalError", f"unexpected {type(error).__name__}; see the operator log")


def _requested_at(body: Mapping[str, Any]) -> str | None:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(REQUESTED_AT)
    return str(value) if value is not None else None


def app_status(outcome: AppOutcome) -> StatusDraft:
    """The LunoraApp's status from one run of its pipeline."""
    draft = outcome.draft
    draft.fact("mode", "cloudflare")
    if outcome.config_hash is not None:
        rendered = sorted(outcome.rendered.values(), key=lambda r: r.name)
        # The status lists stop at the CRD's bound; containerCount still counts them all.
        listed = rendered[:STATUS_LIST_LIMIT]
        draft.fact(
            "containers",
            [
                {"name": r.name, "className": r.names.class_name, "bindingName": r.names.binding_name}
                for r in listed
            ],
        )
        draft.fact("containerCount", len(rendered))
        draft.fact("migrationTag", outcome.migration_tag)
        draft.fact("configHash", outcome.config_hash)
        draft.fact("outputConfigMap", outcome.output_config_map)
        classes = {r.names.class_name for r in listed}
        ids = {name: value for name, value in outcome.namespace_ids.items() if name in classes}
        draft.fact("durableObjectNamespaceIds", ids or None)
    if outcome.worker_version is not None:
        draft.fact("workerVersionId", outcome.worker_version)
    count = len(outcome.rendered)
    draft.summarise(outcome.error, f"{count} container(s) rendered; config {outcome.config_hash}")
    return draft
