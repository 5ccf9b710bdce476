"""wrangler's apply loop for one Containers application: observe it by name; create it, or carry
out what the observation says differs (a PATCH and one rollout). Whether anything differs is
decided before any write; what the pass reports is the application as Cloudflare has it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lunora_operator.cloudflare import (
    AccountClient,
    Application,
    CloudflareError,
    DesiredApplication,
    NotFound,
    Rollout,
)
from lunora_operator.reconcile.errors import Held, Stalled, Waiting

OBSERVE_MAX_AGE = 5.0
"""Seconds an account-wide listing of applications answers every container's lookup for."""
ROLLOUT_POLL_SECONDS = 15.0
"""How soon a container whose rollout is under way looks at it again."""

Action = Literal["Created", "Updated", "Unchanged"]


class ApplicationVanished(CloudflareError):
    """The application was deleted on Cloudflare between the lookup and the update."""

    reason = "ApplicationVanished"
    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=1.0)


@dataclass(frozen=True)
class ApplicationResult:
    application: Application
    """The application as Cloudflare has it after this pass."""
    action: Action
    """What this pass did: Created, Updated (a PATCH and/or a rollout), or nothing (Unchanged)."""
    detail: str
    rollout: Rollout | None = None
    """The application's latest rollout when it is still under way."""
    held: str | None = None
    """Why the configuration differs yet rolls out nowhere (rollout_kind "none"), if it does."""

    @property
    def changed(self) -> bool:
        return self.action in ("Created", "Updated")


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


def rollout_held(reason: str) -> Held:
    return Held("RolloutHeld", reason)


async def apply_application(
    account: AccountClient, desired: DesiredApplication, namespace_id: str
) -> ApplicationResult:
    """Creating only after observing keeps an ambiguous create from making a second application."""
    plan = await account.applications.observe(desired, namespace_id, max_age=OBSERVE_MAX_AGE)
    if plan is None:
        created = await account.applications.create(desired, namespace_id)
        return ApplicationResult(created, "Created", f"application {desired.name} created ({created.id})")
    live = plan.live
    try:
        if live.active_rollout_id and live.image != desired.image:
            # A rollout to this very image that was reverted is not started again on every pass.
            latest = await account.applications.rollout(live.id, live.active_rollout_id)
            if latest is not None and latest.status == "reverted" and latest.target_image == desired.image:
                raise rollout_reverted(desired.name, latest)
        update = await account.applications.update(plan)
        rollout_id = update.rollout_id or update.application.active_rollout_id
        latest = await account.applications.rollout(live.id, rollout_id) if rollout_id else None
    except NotFound:
        # Deleted behind our back since the listing: looked up afresh next time, then created.
        account.applications.forget(desired.name)
        raise ApplicationVanished(
            f"application {desired.name} ({live.id}) is gone; it is created again"
        ) from None
    under_way = latest if latest is not None and latest.under_way else None
    # rollout_kind "none" (as in wrangler) rolls no configuration change out: say what waits, the
    # same words each pass, so the status is not rewritten and no Event repeats.
    held = (
        f"application {desired.name} ({live.id}) differs in {', '.join(plan.held_differences)}; "
        'rollout_kind "none" starts no rollout: start one yourself or drop rollout_kind'
        if plan.held
        else None
    )
    if not (update.patched or update.rollout_id):
        return ApplicationResult(update.application, "Unchanged", "", under_way, held)
    rollout = f", rollout {update.rollout_id}" if update.rollout_id else ""
    changed = ", ".join(line for line in plan.differences if line not in plan.held_differences)
    return ApplicationResult(
        update.application,
        "Updated",
        f"application {desired.name} ({live.id}) updated: {changed}{rollout}",
        under_way,
        held,
    )
