"""Where the reconcilers meet the Cloudflare layer: requests built from rendered config, and the
layer's errors turned into step errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lunora_operator.api.app import WorkerBundle
from lunora_operator.cloudflare import (
    AccountClient,
    CloudflareError,
    Constraints,
    CustomInstanceType,
    DesiredApplication,
    DurableObjectBinding,
    MigrationUpload,
    NotFound,
    RolloutPolicy,
    WorkerUpload,
)
from lunora_operator.reconcile.application import ApplicationSpec, CustomSize, observability_logs
from lunora_operator.reconcile.errors import Stalled, StepError, Transient
from lunora_operator.reconcile.worker import MigrationSteps, container_classes, durable_object_bindings


class ApplicationVanished(CloudflareError):
    """The application was deleted on Cloudflare between the lookup and the update."""

    reason = "ApplicationVanished"
    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=1.0)


def step_error(error: CloudflareError) -> StepError:
    """Retryable faults back off (honouring Retry-After); the rest need a person."""
    kind = Transient if error.retryable else Stalled
    return kind(error.reason, f"Cloudflare: {error.message}", error.retry_after)


def desired_application(spec: ApplicationSpec) -> DesiredApplication:
    size = spec.instance_type
    return DesiredApplication(
        name=spec.name,
        image=spec.image,
        instance_type=CustomInstanceType(vcpu=size.vcpu, memory_mib=size.memory_mib, disk_mb=size.disk_mb)
        if isinstance(size, CustomSize)
        else size,
        max_instances=spec.max_instances,
        constraints=Constraints(regions=spec.regions or (), jurisdiction=spec.jurisdiction)
        if spec.regions or spec.jurisdiction
        else None,
        observability_logs=spec.observability_logs,
        rollout=RolloutPolicy(
            step_percentage=spec.step_percentage,
            steps=list(spec.steps) if spec.steps else None,
            kind=spec.rollout_kind,
            active_grace_period=spec.active_grace_period,
        ),
    )


OBSERVE_MAX_AGE = 5.0
"""Seconds an account-wide listing of applications answers every container's lookup for."""


@dataclass(frozen=True)
class ApplicationResult:
    application_id: str
    action: str
    """What this pass did: Created, Updated (a PATCH and/or a rollout) or nothing (UpToDate)."""
    detail: str


async def deploy_application(
    account: AccountClient, spec: ApplicationSpec, namespace_id: str
) -> ApplicationResult:
    """wrangler's apply loop: look the application up by name; create it, or PATCH what differs
    and start one rollout. Creating only after observing keeps an ambiguous create from making a
    second application."""
    desired = desired_application(spec)
    live = await account.applications.observe(spec.name, max_age=OBSERVE_MAX_AGE)
    if live is None:
        created = await account.applications.create(desired, namespace_id)
        return ApplicationResult(created.id, "Created", f"application {spec.name} created ({created.id})")
    try:
        update = await account.applications.update(live, desired, namespace_id)
    except NotFound:
        # Deleted behind our back since the listing: looked up afresh next time, then created.
        account.applications.forget(spec.name)
        raise ApplicationVanished(
            f"application {spec.name} ({live.id}) is gone; it is created again"
        ) from None
    if not (update.patched or update.rollout_id or update.differences):
        return ApplicationResult(live.id, "UpToDate", "")
    rollout = f", rollout {update.rollout_id}" if update.rollout_id else ""
    changed = ", ".join(update.differences)
    return ApplicationResult(
        live.id, "Updated", f"application {spec.name} ({live.id}) updated: {changed}{rollout}"
    )


def worker_upload_request(
    config: Mapping[str, Any], bundle: WorkerBundle, files: Mapping[str, bytes], steps: MigrationSteps | None
) -> WorkerUpload:
    return WorkerUpload(
        main_module=bundle.main_module,
        modules=dict(files),
        bindings=[
            DurableObjectBinding(name, class_name) for name, class_name in durable_object_bindings(config)
        ],
        container_classes=container_classes(config),
        migrations=MigrationUpload(
            old_tag=steps.old_tag,
            new_tag=steps.new_tag,
            steps=[dict(step) for step in steps.steps],  # type: ignore[misc]  # wrangler's step shape
        )
        if steps is not None
        else None,
        compatibility_date=bundle.compatibility_date,
        compatibility_flags=list(bundle.compatibility_flags or ()),
        observability=observability_logs(config),
    )
