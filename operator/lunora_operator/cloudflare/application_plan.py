"""What an update of a Containers application would change, decided before anything is written
(crossplane's Observe → ResourceUpToDate): the normalised live application against the desired
one (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lunora_operator.cloudflare.application_wire import (
    configuration_body,
    constraints_body,
    normalised_constraints,
)
from lunora_operator.cloudflare.errors import NamespaceMismatch, PermanentError
from lunora_operator.cloudflare.models import (
    Application,
    Constraints,
    CustomInstanceType,
    DesiredApplication,
    normalise_instance_type,
)


def _describe(value: Any) -> str:
    if isinstance(value, CustomInstanceType):
        return f"{{vcpu: {value.vcpu}, memory_mib: {value.memory_mib}, disk_mb: {value.disk_mb}}}"
    if isinstance(value, Constraints):
        return f"{{regions: {list(value.regions)}, jurisdiction: {value.jurisdiction}}}"
    return repr(value)


@dataclass(frozen=True)
class UpdatePlan:
    """What `Applications.update` does to `live` to make it `desired`."""

    live: Application
    desired: DesiredApplication
    edit: dict[str, Any]
    """Arguments of `containers.applications.edit`; empty when nothing applies in place."""
    target_configuration: dict[str, Any] | None
    """The configuration to roll out; None when the configuration is unchanged."""
    differences: list[str]
    """One line per changed field, `field: live -> desired`; empty when nothing differs."""

    @property
    def up_to_date(self) -> bool:
        return not self.differences

    @property
    def rolls_out(self) -> bool:
        """A configuration change that starts a rollout (none with rollout kind "none")."""
        return self.target_configuration is not None and self.desired.rollout.kind != "none"

    @property
    def writes(self) -> bool:
        """Whether the update writes anything at all."""
        return bool(self.edit) or self.rolls_out

    @property
    def held(self) -> bool:
        """The configuration differs, but rollout kind "none" leaves rolling it out to a person
        (as wrangler does); what applies in place is still PATCHed."""
        return self.target_configuration is not None and not self.rolls_out

    @property
    def held_differences(self) -> list[str]:
        """The differences a held rollout leaves: the configuration's."""
        return [line for line in self.differences if line.startswith("configuration.")] if self.held else []


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
    constraints = normalised_constraints(desired.constraints)
    live_constraints = Constraints(tuple(live.constraints.regions), live.constraints.jurisdiction)
    if compare("constraints", live_constraints, constraints):
        edit["constraints"] = constraints_body(constraints)
    grace = desired.rollout.active_grace_period or 0
    if compare("rollout_active_grace_period", live.active_grace_period, grace):
        edit["rollout_active_grace_period"] = grace
    if compare("observability.logs.enabled", live.observability_logs, desired.observability_logs):
        edit["observability"] = {"logs": {"enabled": desired.observability_logs}}
    target = configuration_body(desired) if image_changed or type_changed else None
    return UpdatePlan(live, desired, edit=edit, target_configuration=target, differences=differences)


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
