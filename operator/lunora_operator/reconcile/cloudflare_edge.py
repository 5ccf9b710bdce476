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
    DesiredApplication,
    DurableObjectBinding,
    MigrationUpload,
    NotFound,
    Rollout,
    WorkerUpload,
)
from lunora_operator.reconcile.errors import Stalled, StepError, Transient, Waiting
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


OBSERVE_MAX_AGE = 5.0
"""Seconds an account-wide listing of applications answers every container's lookup for."""


ROLLOUT_POLL_SECONDS = 15.0
"""How soon a container whose rollout is under way looks at it again."""


@dataclass(frozen=True)
class ApplicationResult:
    application_id: str
    action: str
    """What this pass did: Created, Updated (a PATCH and/or a rollout), nothing (UpToDate), or
    nothing because rollout_kind "none" leaves a configuration change to the user (RolloutHeld)."""
    detail: str
    rollout: Rollout | None = None
    """The application's latest rollout when it is still under way."""


def rollout_reverted(name: str, rollout: Rollout) -> Stalled:
    return Stalled(
        "RolloutReverted",
        f"rollout {rollout.id} of application {name} to {rollout.target_image} was reverted and the "
        "application runs its previous configuration; change the image (or the spec) to roll out again",
    )


def rollout_under_way(name: str, rollout: Rollout) -> Waiting:
    step = f"step {rollout.current_step} of {rollout.total_steps}"
    if rollout.kind == "full_manual":
        return Waiting(
            "RolloutManual",
            f"rollout {rollout.id} of application {name} is {rollout.status} at {step} and waits for "
            "someone to advance it (rollout_kind full_manual)",
            retry_after=ROLLOUT_POLL_SECONDS,
        )
    return Waiting(
        "RollingOut",
        f"rollout {rollout.id} of application {name} to {rollout.target_image} is {rollout.status} ({step})",
        retry_after=ROLLOUT_POLL_SECONDS,
    )


async def deploy_application(
    account: AccountClient, desired: DesiredApplication, namespace_id: str
) -> ApplicationResult:
    """wrangler's apply loop: observe the application by name; create it, or PATCH what differs
    and start one rollout. Creating only after observing keeps an ambiguous create from making a
    second application; whether anything differs is decided before any write."""
    plan = await account.applications.observe(desired, namespace_id, max_age=OBSERVE_MAX_AGE)
    if plan is None:
        created = await account.applications.create(desired, namespace_id)
        return ApplicationResult(created.id, "Created", f"application {desired.name} created ({created.id})")
    live = plan.live
    try:
        if live.active_rollout_id and live.image != desired.image:
            # A rollout to this very image that was reverted is not started again on every pass.
            latest = await account.applications.rollout(live.id, live.active_rollout_id)
            if latest is not None and latest.status == "reverted" and latest.target_image == desired.image:
                raise rollout_reverted(desired.name, latest)
        update = await account.applications.update(plan)
        rollout_id = update.rollout_id or live.active_rollout_id
        latest = await account.applications.rollout(live.id, rollout_id) if rollout_id else None
    except NotFound:
        # Deleted behind our back since the listing: looked up afresh next time, then created.
        account.applications.forget(desired.name)
        raise ApplicationVanished(
            f"application {desired.name} ({live.id}) is gone; it is created again"
        ) from None
    under_way = latest if latest is not None and latest.under_way else None
    if plan.up_to_date:
        return ApplicationResult(live.id, "UpToDate", "", under_way)
    if plan.held:
        # rollout_kind "none" (as in wrangler) writes nothing for a configuration change: say what
        # waits, the same words each pass, so the status is not rewritten and no Event repeats.
        return ApplicationResult(
            live.id,
            "RolloutHeld",
            f"application {desired.name} ({live.id}) differs in {', '.join(plan.differences)}; "
            'rollout_kind "none" starts no rollout: start one yourself or drop rollout_kind',
        )
    rollout = f", rollout {update.rollout_id}" if update.rollout_id else ""
    changed = ", ".join(plan.differences)
    return ApplicationResult(
        live.id, "Updated", f"application {desired.name} ({live.id}) updated: {changed}{rollout}", under_way
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
        observability=observability
        if isinstance(observability := config.get("observability"), Mapping)
        else None,
    )
