"""What deletion does before a finalizer lets an object go.

`deletionPolicy: Delete` on a container: its application goes first (looked up by name and by
the id its status recorded, and waited for until Cloudflare no longer lists it), then the
container leaves the config, and the finalizer goes as soon as nothing of it is left on
Cloudflare (`departure.py` says when). An app deleted with its containers stays until their
finalizers have removed their applications with its token. Each raises a StepError naming what
it waits for while it cannot finish; the finalizer stays until it does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lunora_operator.api.validation import ResourceInvalid
from lunora_operator.clock import SYSTEM_CLOCK, Clock
from lunora_operator.cloudflare import AccountClient, CloudflareClients
from lunora_operator.kube.gateway import Kube, KubeUnavailable
from lunora_operator.name_lists import counted
from lunora_operator.reconcile.accounts import app_account
from lunora_operator.reconcile.app_renders import AppRenders
from lunora_operator.reconcile.app_run import AppMemory
from lunora_operator.reconcile.application_apply import OBSERVE_MAX_AGE
from lunora_operator.reconcile.departure import RETRY_SECONDS, departure_wait
from lunora_operator.reconcile.errors import StepError, Waiting, invalid
from lunora_operator.reconcile.records import AppRecord, ContainerRecord, Inventory
from lunora_operator.reconcile.status_writer import EventSink
from lunora_operator.reconcile.steps import Halt, Step, run_steps
from lunora_operator.reconcile.worker_observe import read_worker

logger = logging.getLogger(__name__)
APP_PATIENCE_SECONDS = 30.0
"""How long one call of an app's finalizer waits for its containers before it says it waits."""
APP_POLL_SECONDS = 0.5


@dataclass
class Departure:
    """One container on its way out."""

    body: Mapping[str, Any]
    record: ContainerRecord
    app: AppRecord | None
    memory: AppMemory | None
    """What this process remembers of the app (its last account), if anything."""
    account: AccountClient | None = None

    @property
    def status(self) -> Mapping[str, Any]:
        return self.body.get("status") or {}


def deployed_application(body: Mapping[str, Any], app: AppRecord | None) -> str | None:
    """The application a container deployed: as its status recorded it, else as its spec and
    app name it (None when neither can say: nothing was deployed under a name we can know)."""
    recorded = (body.get("status") or {}).get("applicationName")
    if recorded:
        return str(recorded)
    if app is None:
        return None
    try:
        return ContainerRecord.from_body(body).resource().names_in(app.resource()).application_name
    except ResourceInvalid:
        return None


def class_of(departure: Departure) -> str | None:
    """The Durable Object class the container declared: as its status recorded it, else as its
    spec names it."""
    recorded = departure.status.get("className")
    if recorded:
        return str(recorded)
    if departure.app is None:
        return None
    try:
        return departure.record.resource().names_in(departure.app.resource()).class_name
    except ResourceInvalid:
        return None


class Finalizers:
    def __init__(
        self,
        kube: Kube,
        cloudflare: CloudflareClients,
        inventory: Inventory,
        renders: AppRenders,
        events: EventSink,
        clock: Clock = SYSTEM_CLOCK,
        patience: float = APP_PATIENCE_SECONDS,
    ) -> None:
        self._clock = clock
        self.patience = patience
        self._kube = kube
        self._cloudflare = cloudflare
        self._inventory = inventory
        self._renders = renders
        self._events = events

    async def _account(self, departure: Departure) -> AccountClient | None:
        """The account to delete an application with: from the app's token, else the last one the
        app used; None when neither exists any more and the app is gone for good."""
        app = departure.app
        try:
            if app is None:
                raise Waiting("AppNotFound", f'LunoraApp "{departure.record.app}" not found')
            return await app_account(self._kube, self._cloudflare, app.resource())
        except (StepError, KubeUnavailable, ResourceInvalid) as error:
            if departure.memory is not None and departure.memory.account is not None:
                return departure.memory.account
            if app is None or app.deleting:
                return None
            if isinstance(error, ResourceInvalid):
                raise invalid("LunoraApp", app.name, error) from None
            raise

    async def _delete_application(self, departure: Departure) -> None:
        name = deployed_application(departure.body, departure.app)
        recorded_id = departure.status.get("applicationId")
        if name is None and not recorded_id:
            return
        account = departure.account = await self._account(departure)
        if account is None:
            self._events(
                departure.body,
                "Warning",
                "ApplicationLeft",
                f"LunoraApp {departure.record.app} and its API token are gone, so the Cloudflare application "
                f"{name or recorded_id} was left in place; delete it with `wrangler containers delete`",
            )
            raise Halt
        # One listing answers the lookups of many containers deleted together.
        deleted = await account.applications.delete(name, max_age=OBSERVE_MAX_AGE) if name else None
        if recorded_id and (deleted is None or deleted.id != recorded_id):
            deleted = await account.applications.delete_id(str(recorded_id)) or deleted
        if deleted is None:
            return
        logger.info("deleted application %s (%s)", deleted.name, deleted.id)
        if departure.app is None or departure.app.deleting:
            return  # no class is deleted after it: the deletion Cloudflare started is enough
        # Cloudflare may list an application for a while after its deletion started, and refuses
        # to delete a class whose namespace still serves one.
        still = await account.applications.find(deleted.name)
        if still is not None:
            raise Waiting(
                "ApplicationDeleting",
                f"Cloudflare still lists application {still.name} ({still.id}) after its deletion; the "
                "container goes once it is gone",
                RETRY_SECONDS,
            )

    async def _leave_config(self, departure: Departure) -> None:
        if departure.app is None or departure.app.deleting:
            return  # the app goes too: there is no config left to render it out of
        key = departure.record.app_key
        name = departure.record.name
        self._renders.coordinator(key).memory.released.add(name)
        outcome = await self._renders.request(key, observe_cloudflare=True)
        worker = outcome.worker
        if worker is None and outcome.worker_name is not None:
            # The render stopped before it could look (the app suspended, its inputs missing): look.
            account = departure.account or await self._account(departure)
            if account is not None:
                worker = await read_worker(account, outcome.worker_name)
        class_name = class_of(departure)
        wait = departure_wait(outcome, worker, name, class_name)
        if wait is not None:
            raise wait
        if worker is not None and worker.exists and class_name in worker.classes:
            logger.info(
                "LunoraContainer %s/%s: its class %s leaves Worker %s with the next `wrangler deploy` "
                "of ConfigMap %s",
                key[0],
                name,
                class_name,
                outcome.worker_name,
                outcome.output_config_map,
            )

    async def finalize_container(self, body: Mapping[str, Any]) -> None:
        record = ContainerRecord.from_body(body)
        known = self._renders.known(record.app_key)
        departure = Departure(
            body, record, self._inventory.app(record.app_key), known.memory if known else None
        )
        steps = [Step[Departure](None, self._delete_application), Step[Departure](None, self._leave_config)]
        error = await run_steps(steps, departure, None)
        if error is not None:
            raise error

    async def finalize_app(self, body: Mapping[str, Any]) -> None:
        """Waits (up to `patience` seconds per call) for the app's containers being deleted to go:
        their finalizers still use its token. Deleted together, they usually go within it, so
        the normal case posts no failure Event; a container that does not go is named."""
        record = AppRecord.from_body(body)
        started = self._clock.monotonic()
        while leaving := sorted(c.name for c in self._inventory.containers(record.key) if c.deleting):
            if self._clock.monotonic() - started >= self.patience:
                raise Waiting(
                    "ContainersDeleting",
                    f"waiting for {counted(leaving, 'LunoraContainer')} to remove their Cloudflare "
                    "applications",
                    retry_after=2.0,
                )
            await self._clock.sleep(APP_POLL_SECONDS)
