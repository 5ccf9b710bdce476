"""Containers applications: observe by name, create, update (PATCH and one rollout), delete.

Follows wrangler's `apply()`: find the application by name, create it with `instances: 0`, or
refuse one bound to another Durable Object namespace, normalise the live one (instance type
inferred from its sizes) and change only what differs. Unlike wrangler, which PATCHes the whole
configuration and always starts a rollout, this follows the SDK's contract: the PATCH carries
the fields Cloudflare applies in place (max_instances, constraints, rollout grace period,
observability) and a configuration change (image, instance type) goes out as one rollout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from lunora_operator.cloudflare.errors import CloudflareError, NamespaceMismatch, NotFound, PermanentError
from lunora_operator.cloudflare.models import (
    Application,
    ApplicationUpdate,
    Constraints,
    CustomInstanceType,
    DesiredApplication,
    InstanceType,
    Rollout,
    RolloutPolicy,
    infer_instance_type,
    normalise_instance_type,
)

if TYPE_CHECKING:
    import cloudflare

    from lunora_operator.cloudflare.accounts import AccountClient

PAGE_SIZE = 100


# --- pure functions: API shapes in, API shapes out ---------------------------------------------


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def application_from_api(data: Mapping[str, Any]) -> Application:
    """Normalises an application as the API returns it."""
    configuration: Mapping[str, Any] = data.get("configuration") or {}
    instance_type: InstanceType | None = configuration.get("instance_type")
    if instance_type is None:
        disk = configuration.get("disk") or {}
        memory = _integer(configuration.get("memory_mib"))
        disk_mb = _integer(disk.get("size_mb")) if isinstance(disk, Mapping) else None
        instance_type = infer_instance_type(_number(configuration.get("vcpu")), memory, disk_mb)
    constraints: Mapping[str, Any] = data.get("constraints") or {}
    # Top-level observability replaces configuration.observability (the two are exclusive).
    observability = data.get("observability") or configuration.get("observability") or {}
    logs = observability.get("logs") or {}
    durable_objects = data.get("durable_objects") or {}
    return Application(
        id=str(data["id"]),
        name=str(data["name"]),
        version=int(data.get("version") or 0),
        image=str(configuration.get("image") or ""),
        instance_type=instance_type,
        max_instances=_integer(data.get("max_instances")),
        constraints=Constraints(
            regions=tuple(constraints.get("regions") or ()), jurisdiction=constraints.get("jurisdiction")
        ),
        observability_logs=bool(logs.get("enabled")),
        active_grace_period=int(data.get("rollout_active_grace_period") or 0),
        namespace_id=durable_objects.get("namespace_id"),
        active_rollout_id=data.get("active_rollout_id"),
        scheduling_policy=str(data.get("scheduling_policy") or "default"),
    )


def _normalised_constraints(constraints: Constraints | None) -> Constraints:
    """Regions upper case, jurisdiction lower case, as wrangler sends them."""
    if constraints is None:
        return Constraints()
    return Constraints(
        regions=tuple(region.upper() for region in constraints.regions),
        jurisdiction=constraints.jurisdiction.lower() if constraints.jurisdiction else None,
    )


def _constraints_body(constraints: Constraints) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if constraints.regions:
        body["regions"] = list(constraints.regions)
    if constraints.jurisdiction:
        body["jurisdiction"] = constraints.jurisdiction
    return body


def configuration_body(desired: DesiredApplication) -> dict[str, Any]:
    """The deployment configuration: image and a named instance type or a custom size."""
    body: dict[str, Any] = {"image": desired.image}
    instance_type = normalise_instance_type(desired.instance_type)
    if isinstance(instance_type, CustomInstanceType):
        body.update(
            vcpu=instance_type.vcpu,
            memory_mib=instance_type.memory_mib,
            disk={"size_mb": instance_type.disk_mb},
        )
    else:
        body["instance_type"] = instance_type
    return body


def create_params(desired: DesiredApplication, namespace_id: str) -> dict[str, Any]:
    """Arguments of `containers.applications.create`, as wrangler builds the body."""
    params: dict[str, Any] = {
        "name": desired.name,
        "scheduling_policy": "default",
        "instances": 0,
        "max_instances": desired.max_instances,
        "configuration": configuration_body(desired),
        "durable_objects": {"namespace_id": namespace_id},
        "observability": {"logs": {"enabled": desired.observability_logs}},
        "rollout_active_grace_period": desired.rollout.active_grace_period or 0,
    }
    constraints = _constraints_body(_normalised_constraints(desired.constraints))
    if constraints:
        params["constraints"] = constraints
    return params


def _describe(value: Any) -> str:
    if isinstance(value, CustomInstanceType):
        return f"{{vcpu: {value.vcpu}, memory_mib: {value.memory_mib}, disk_mb: {value.disk_mb}}}"
    if isinstance(value, Constraints):
        return f"{{regions: {list(value.regions)}, jurisdiction: {value.jurisdiction}}}"
    return repr(value)


@dataclass(frozen=True)
class UpdatePlan:
    edit: dict[str, Any]
    """Arguments of `containers.applications.edit`; empty when nothing applies in place."""
    target_configuration: dict[str, Any] | None
    """The configuration to roll out; None when the configuration is unchanged."""
    differences: list[str]


def plan_update(live: Application, desired: DesiredApplication) -> UpdatePlan:
    """Compares the normalised live application with the desired one."""
    differences: list[str] = []
    edit: dict[str, Any] = {}

    def compare(label: str, live_value: Any, desired_value: Any) -> bool:
        if live_value == desired_value:
            return False
        differences.append(f"{label}: {_describe(live_value)} -> {_describe(desired_value)}")
        return True

    image_changed = compare("configuration.image", live.image, desired.image)
    live_type = normalise_instance_type(live.instance_type) if live.instance_type is not None else None
    type_changed = compare(
        "configuration.instance_type", live_type, normalise_instance_type(desired.instance_type)
    )
    if compare("max_instances", live.max_instances, desired.max_instances):
        edit["max_instances"] = desired.max_instances
    constraints = _normalised_constraints(desired.constraints)
    live_constraints = Constraints(tuple(live.constraints.regions), live.constraints.jurisdiction)
    if compare("constraints", live_constraints, constraints):
        edit["constraints"] = _constraints_body(constraints)
    grace = desired.rollout.active_grace_period or 0
    if compare("rollout_active_grace_period", live.active_grace_period, grace):
        edit["rollout_active_grace_period"] = grace
    if compare("observability.logs.enabled", live.observability_logs, desired.observability_logs):
        edit["observability"] = {"logs": {"enabled": desired.observability_logs}}
    target = configuration_body(desired) if image_changed or type_changed else None
    return UpdatePlan(edit=edit, target_configuration=target, differences=differences)


def rollout_steps(policy: RolloutPolicy, max_instances: int) -> dict[str, Any]:
    """`step_percentage` or `steps` of a rollout, with wrangler's default and step descriptions."""
    if policy.step_percentage is not None:
        return {"step_percentage": policy.step_percentage}
    steps: Sequence[int] = (
        policy.steps if policy.steps is not None else ([100] if max_instances < 2 else [10, 100])
    )
    return {
        "steps": [
            {
                "step_size": {"percentage": percentage},
                "description": f"Step {index} of {len(steps)} - rollout at {percentage}% of instances",
            }
            for index, percentage in enumerate(steps, start=1)
        ]
    }


def check_namespace(live: Application, namespace_id: str) -> None:
    """Refuses to manage an application that serves another Durable Object namespace."""
    if not live.namespace_id:
        raise PermanentError(
            f"The previous deploy of container application {live.name} was not associated with a durable object",
            reason="NamespaceMismatch",
        )
    if live.namespace_id != namespace_id:
        raise NamespaceMismatch(
            f"There is already an application with the name {live.name} deployed that is associated with a "
            f"different durable object namespace ({live.namespace_id}). Either change the container name or "
            "delete the existing application first."
        )


def _dump(model: Any) -> Mapping[str, Any]:
    """The SDK model as plain data, including fields the SDK does not declare (such as sizes)."""
    dumped: Mapping[str, Any] = model.model_dump(by_alias=True)
    return dumped


def rollout_from_api(data: Mapping[str, Any]) -> Rollout:
    progress: Mapping[str, Any] = data.get("progress") or {}
    target: Mapping[str, Any] = data.get("target_configuration") or {}
    return Rollout(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        kind=str(data.get("kind") or "full_auto"),
        current_step=_integer(progress.get("current_step")) or 0,
        total_steps=_integer(progress.get("total_steps")) or len(data.get("steps") or ()),
        target_image=str(target["image"]) if target.get("image") else None,
    )


# --- the four verbs -------------------------------------------------------------------------------


class Applications:
    def __init__(self, account: AccountClient) -> None:
        self._account = account
        # One listing of the account's applications, shared by every observe(max_age=...).
        self._listing: dict[str, Application] = {}
        self._listed_at: float | None = None
        self._listing_turn: asyncio.Lock | None = None
        self._listing_failure: tuple[float, CloudflareError] | None = None
        self._changed: dict[str, float] = {}
        """Name -> when this process last created, updated or deleted it (loop time)."""
        self._finished_rollouts: dict[str, Rollout] = {}

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _mark_changed(self, name: str) -> None:
        self._changed[name] = self._now()

    def forget(self, name: str) -> None:
        """The next observe of `name` looks it up on its own instead of trusting the listing."""
        self._mark_changed(name)

    async def _list_all(self) -> dict[str, Application]:
        listed: dict[str, Application] = {}
        pages = self._sdk.containers.applications.list(
            account_id=self._account.account_id, per_page=PAGE_SIZE
        )
        async for app in pages:
            found = application_from_api(_dump(app))
            listed[found.name] = found
        return listed

    async def _fresh_listing(self, max_age: float) -> dict[str, Application]:
        if self._listing_turn is None:
            self._listing_turn = asyncio.Lock()
        async with self._listing_turn:  # one listing in flight; the others wait for it
            failed = self._listing_failure
            if failed is not None and self._now() - failed[0] <= max_age:
                raise failed[1]  # the listing the waiters queued behind just failed: so do they
            if self._listed_at is None or self._now() - self._listed_at > max_age:
                started = self._now()
                try:
                    self._listing = await self._account.call("listing applications", self._list_all)
                except CloudflareError as error:
                    self._listing_failure = (self._now(), error)
                    raise
                self._listing_failure = None
                self._listed_at = started
            return self._listing

    @property
    def _sdk(self) -> cloudflare.AsyncCloudflare:
        return self._account.sdk

    async def _find(self, name: str) -> Application | None:
        pages = self._sdk.containers.applications.list(
            account_id=self._account.account_id, name=name, per_page=PAGE_SIZE
        )
        async for app in pages:
            if app.name == name:
                return application_from_api(_dump(app))
        return None

    async def observe(self, name: str, max_age: float | None = None) -> Application | None:
        """The application with this name, or None.

        With `max_age`, the answer comes from one listing of all the account's applications made
        at most that many seconds ago, so N containers cost one paginated list, not N lookups. A
        name this process changed since that listing is looked up on its own: observe-before-
        create stays exact."""
        if max_age is not None:
            changed = self._changed.get(name)
            if changed is None or (self._listed_at is not None and self._listed_at > changed):
                listing = await self._fresh_listing(max_age)
                if changed is None or (self._listed_at is not None and self._listed_at > changed):
                    return listing.get(name)
        return await self._account.call(f"looking up application {name}", lambda: self._find(name))

    async def create(self, desired: DesiredApplication, namespace_id: str) -> Application:
        """Creates the application. After an answer that leaves open whether Cloudflare created
        it (dropped connection, timeout, 5xx) the next attempt looks it up first, so a retry never
        creates a second application."""
        params = create_params(desired, namespace_id)

        async def send() -> Application:
            created = await self._sdk.containers.applications.create(
                account_id=self._account.account_id, **params
            )
            return application_from_api(_dump(created))

        async def check() -> Application | None:
            existing = await self._find(desired.name)
            if existing is not None:
                check_namespace(existing, namespace_id)
            return existing

        try:
            return await self._account.call_once(f"creating application {desired.name}", send, check)
        finally:
            self._mark_changed(desired.name)

    async def update(
        self, live: Application, desired: DesiredApplication, namespace_id: str
    ) -> ApplicationUpdate:
        """PATCHes what differs and starts one rollout for a configuration change (none with
        rollout kind "none"). Refuses an application bound to another namespace."""
        check_namespace(live, namespace_id)
        plan = plan_update(live, desired)
        if not (plan.edit or plan.target_configuration is not None):
            return ApplicationUpdate(patched=False, rollout_id=None, differences=plan.differences)
        patched = False
        rollout_id: str | None = None
        try:
            if plan.edit:
                await self._account.call(
                    f"updating application {live.name}",
                    lambda: self._sdk.containers.applications.edit(
                        live.id, account_id=self._account.account_id, **plan.edit
                    ),
                )
                patched = True
            if plan.target_configuration is not None and desired.rollout.kind != "none":
                rollout_id = await self._roll_out(live, desired, plan.target_configuration)
        finally:
            # After the writes: a listing that started while they were under way is not trusted.
            self._mark_changed(live.name)
        return ApplicationUpdate(patched=patched, rollout_id=rollout_id, differences=plan.differences)

    async def _roll_out(self, live: Application, desired: DesiredApplication, target: dict[str, Any]) -> str:
        params: dict[str, Any] = {
            "description": "Progressive update",
            "strategy": "rolling",
            "kind": desired.rollout.kind,
            "target_configuration": target,
            **rollout_steps(desired.rollout, desired.max_instances),
        }

        async def send() -> str:
            rollout = await self._sdk.containers.applications.rollouts.create(
                live.id, account_id=self._account.account_id, **params
            )
            return rollout.id

        async def check() -> str | None:
            # Did the lost request start a rollout? Either sign counts: an active rollout that was
            # not there before, or (as FakeCloudflare does; Cloudflare's timing is not documented)
            # a configuration already at its target.
            current = await self._get(live.id)
            if not current.active_rollout_id:
                return None
            started = current.active_rollout_id != live.active_rollout_id
            if started or plan_update(current, desired).target_configuration is None:
                return current.active_rollout_id
            return None

        return await self._account.call_once(f"rolling out application {live.name}", send, check)

    async def rollout(self, application_id: str, rollout_id: str) -> Rollout | None:
        """The rollout, or None when Cloudflare no longer has it. A finished one is remembered:
        it cannot change any more, so it is read once. (The SDK has no method for this read.)"""
        known = self._finished_rollouts.get(rollout_id)
        if known is not None:
            return known
        path = f"/accounts/{self._account.account_id}/containers/applications/{application_id}/rollouts/{rollout_id}"

        async def attempt() -> Mapping[str, Any]:
            envelope = await self._sdk.get(path, cast_to=object)
            return cast(Mapping[str, Any], cast(Mapping[str, Any], envelope)["result"])

        try:
            data = await self._account.call(
                f"reading rollout {rollout_id} of application {application_id}", attempt
            )
        except NotFound:
            return None
        found = rollout_from_api(data)
        if not found.under_way:
            self._finished_rollouts[rollout_id] = found
        return found

    async def _get(self, application_id: str) -> Application:
        app = await self._sdk.containers.applications.get(application_id, account_id=self._account.account_id)
        return application_from_api(_dump(app))

    async def delete(self, application_id: str, name: str | None = None) -> bool:
        """Deletes the application; False when it was already gone. Give its `name` so cached
        observations forget it."""
        try:
            await self._account.call(
                f"deleting application {application_id}",
                lambda: self._sdk.containers.applications.delete(
                    application_id, account_id=self._account.account_id
                ),
            )
        except NotFound:
            return False
        finally:
            if name is not None:
                self._mark_changed(name)
        return True
