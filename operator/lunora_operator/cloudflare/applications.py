"""Containers applications: find by name, observe (what an update would change), create, update
(PATCH and one rollout), delete.

Follows wrangler's `apply()`: find the application by name, create it with `instances: 0`, or
refuse one bound to another Durable Object namespace, normalise the live one (instance type
inferred from its sizes) and change only what differs. Unlike wrangler, which PATCHes the whole
configuration and always starts a rollout, this follows the SDK's contract: the PATCH carries
the fields Cloudflare applies in place (max_instances, constraints, rollout grace period,
observability) and a configuration change (image, instance type) goes out as one rollout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import cloudflare

from lunora_operator.cloudflare.application_listing import ApplicationListing
from lunora_operator.cloudflare.application_plan import UpdatePlan, check_namespace, plan_update
from lunora_operator.cloudflare.application_wire import (
    application_from_api,
    create_params,
    dump,
    rollout_from_api,
    rollout_steps,
)
from lunora_operator.cloudflare.errors import NotFound
from lunora_operator.cloudflare.models import Application, ApplicationUpdate, DesiredApplication, Rollout
from lunora_operator.cloudflare.transport import Transport

PAGE_SIZE = 100


class Applications:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self.listing = ApplicationListing(transport.clock)
        self._finished_rollouts: dict[str, Rollout] = {}

    @property
    def _sdk(self) -> cloudflare.AsyncCloudflare:
        return self._transport.sdk

    @property
    def _account_id(self) -> str:
        return self._transport.account_id

    def forget(self, name: str) -> None:
        """The next lookup of `name` asks Cloudflare for it alone instead of trusting the listing."""
        self.listing.mark_changed(name)

    async def _list_all(self) -> dict[str, Application]:
        listed: dict[str, Application] = {}
        async for app in self._sdk.containers.applications.list(
            account_id=self._account_id, per_page=PAGE_SIZE
        ):
            found = application_from_api(dump(app))
            listed[found.name] = found
        return listed

    async def _lookup(self, name: str) -> Application | None:
        pages = self._sdk.containers.applications.list(
            account_id=self._account_id, name=name, per_page=PAGE_SIZE
        )
        async for app in pages:
            if app.name == name:
                return application_from_api(dump(app))
        return None

    async def find(self, name: str, max_age: float | None = None) -> Application | None:
        """The application with this name, or None. With `max_age`, the answer may come from one
        listing of all the account's applications made at most that many seconds ago."""
        if max_age is not None and self.listing.answers_for(name):
            listing = await self.listing.fresh(
                max_age, lambda: self._transport.call("listing applications", self._list_all)
            )
            if self.listing.answers_for(name):
                return listing.get(name)
        return await self._transport.call(f"looking up application {name}", lambda: self._lookup(name))

    async def observe(
        self, desired: DesiredApplication, namespace_id: str, max_age: float | None = None
    ) -> UpdatePlan | None:
        """None when no application has the desired name; else what `update` would change
        (`up_to_date` when nothing). Refuses an application bound to another namespace."""
        live = await self.find(desired.name, max_age)
        if live is None:
            return None
        check_namespace(live, namespace_id)
        return plan_update(live, desired)

    async def create(self, desired: DesiredApplication, namespace_id: str) -> Application:
        """Creates the application. After an answer that leaves open whether Cloudflare created
        it (dropped connection, timeout, 5xx) the next attempt looks it up first, so a retry never
        creates a second application."""
        params = create_params(desired, namespace_id)

        async def send() -> Application:
            created = await self._sdk.containers.applications.create(account_id=self._account_id, **params)
            return application_from_api(dump(created))

        async def check() -> Application | None:
            existing = await self._lookup(desired.name)
            if existing is not None:
                check_namespace(existing, namespace_id)
            return existing

        try:
            return await self._transport.call_once(f"creating application {desired.name}", send, check)
        finally:
            self.listing.mark_changed(desired.name)

    async def update(self, plan: UpdatePlan) -> ApplicationUpdate:
        """Carries out the plan: PATCHes what applies in place and starts one rollout for a
        configuration change (none with rollout kind "none")."""
        live = plan.live
        patched = False
        rollout_id: str | None = None
        if not plan.writes:
            return ApplicationUpdate(False, None, plan.differences, application=live)
        try:
            if plan.edit:
                await self._transport.call(
                    f"updating application {live.name}",
                    lambda: self._sdk.containers.applications.edit(
                        live.id, account_id=self._account_id, **plan.edit
                    ),
                )
                patched = True
            if plan.rolls_out:
                rollout_id = await self._roll_out(plan)
        finally:
            # After the writes: a listing that started while they were under way is not trusted.
            self.listing.mark_changed(live.name)
        after = await self.find(live.name)
        if after is None:
            raise NotFound(f"application {live.name} ({live.id}) was deleted during its update")
        return ApplicationUpdate(patched, rollout_id, plan.differences, application=after)

    async def _roll_out(self, plan: UpdatePlan) -> str:
        live, desired = plan.live, plan.desired
        params: dict[str, Any] = {
            "description": "Progressive update",
            "strategy": "rolling",
            "kind": desired.rollout.kind,
            "target_configuration": plan.target_configuration,
            **rollout_steps(desired.rollout, desired.max_instances),
        }

        async def send() -> str:
            rollout = await self._sdk.containers.applications.rollouts.create(
                live.id, account_id=self._account_id, **params
            )
            return rollout.id

        async def check() -> str | None:
            # Did the lost request start a rollout? Either sign counts: an active rollout that was
            # not there before, or a configuration already at its target (Cloudflare does not
            # document when the target configuration becomes the application's).
            current = await self._get(live.id)
            if not current.active_rollout_id:
                return None
            started = current.active_rollout_id != live.active_rollout_id
            if started or plan_update(current, desired).target_configuration is None:
                return current.active_rollout_id
            return None

        return await self._transport.call_once(f"rolling out application {live.name}", send, check)

    async def rollout(self, application_id: str, rollout_id: str) -> Rollout | None:
        """The rollout, or None when Cloudflare no longer has it. A finished one is remembered:
        it cannot change any more, so it is read once. (The SDK has no method for this read.)"""
        known = self._finished_rollouts.get(rollout_id)
        if known is not None:
            return known
        path = f"/accounts/{self._account_id}/containers/applications/{application_id}/rollouts/{rollout_id}"

        async def attempt() -> Mapping[str, Any]:
            envelope = await self._sdk.get(path, cast_to=object)
            return cast(Mapping[str, Any], cast(Mapping[str, Any], envelope)["result"])

        try:
            data = await self._transport.call(
                f"reading rollout {rollout_id} of application {application_id}", attempt
            )
        except NotFound:
            return None
        found = rollout_from_api(data)
        if not found.under_way:
            self._finished_rollouts[rollout_id] = found
        return found

    async def _get(self, application_id: str) -> Application:
        app = await self._sdk.containers.applications.get(application_id, account_id=self._account_id)
        return application_from_api(dump(app))

    async def delete(self, name: str, max_age: float | None = None) -> Application | None:
        """Deletes the application with this name; returns what was deleted, None when there was
        none (or it went meanwhile)."""
        live = await self.find(name, max_age)
        if live is None:
            return None
        try:
            await self._transport.call(
                f"deleting application {name} ({live.id})",
                lambda: self._sdk.containers.applications.delete(live.id, account_id=self._account_id),
            )
        except NotFound:
            return None
        finally:
            self.listing.mark_changed(name)
        return live
