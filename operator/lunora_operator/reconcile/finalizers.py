"""What deletion does before a finalizer lets an object go.

`deletionPolicy: Delete` on a container: its application goes first, then the container leaves
the config (its binding goes and a `deleted_classes` migration is recorded). An app deleted with
its containers stays until their finalizers have removed their applications with its token.
Each raises a StepError while it cannot finish; the finalizer stays until it does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lunora_operator.api.validation import ResourceInvalid
from lunora_operator.cloudflare import AccountClient, CloudflareClients
from lunora_operator.kube.gateway import Kube, KubeUnavailable
from lunora_operator.reconcile.accounts import app_account
from lunora_operator.reconcile.app_renders import AppRenders
from lunora_operator.reconcile.app_run import AppMemory
from lunora_operator.reconcile.errors import StepError, Waiting
from lunora_operator.reconcile.records import AppRecord, ContainerRecord, Inventory
from lunora_operator.reconcile.status_writer import EventSink
from lunora_operator.reconcile.steps import Halt, Step, run_steps

logger = logging.getLogger(__name__)


@dataclass
class Departure:
    """One container on its way out."""

    body: Mapping[str, Any]
    record: ContainerRecord
    app: AppRecord | None
    memory: AppMemory | None
    """What this process remembers of the app (its last account), if anything."""


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


class Finalizers:
    def __init__(
        self,
        kube: Kube,
        cloudflare: CloudflareClients,
        inventory: Inventory,
        renders: AppRenders,
        events: EventSink,
    ) -> None:
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
        except (StepError, KubeUnavailable, ResourceInvalid):
            if departure.memory is not None and departure.memory.account is not None:
                return departure.memory.account
            if app is None or app.deleting:
                return None
            raise

    async def _delete_application(self, departure: Departure) -> None:
        name = deployed_application(departure.body, departure.app)
        if name is None:
            return
        account = await self._account(departure)
        if account is None:
            self._events(
                departure.body,
                "Warning",
                "ApplicationLeft",
                f"LunoraApp {departure.record.app} and its API token are gone, so the Cloudflare application "
                f"{name} was left in place; delete it with `wrangler containers delete`",
            )
            raise Halt
        deleted = await account.applications.delete(name)
        if deleted is not None:
            logger.info("deleted application %s (%s)", name, deleted.id)

    async def _leave_config(self, departure: Departure) -> None:
        if departure.app is None or departure.app.deleting:
            return  # the app goes too: there is no config left to render it out of
        key = departure.record.app_key
        self._renders.coordinator(key).memory.released.add(departure.record.name)
        outcome = await self._renders.request(key)
        if departure.record.name in outcome.rendered or outcome.error is not None:
            raise outcome.error or Waiting("RenderPending", "the config still lists the container")

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
        record = AppRecord.from_body(body)
        leaving = [c.name for c in self._inventory.containers(record.key) if c.deleting]
        if leaving:
            raise Waiting(
                "ContainersDeleting",
                f"waiting for LunoraContainer {', '.join(sorted(leaving))} to remove their Cloudflare applications",
                retry_after=2.0,
            )
