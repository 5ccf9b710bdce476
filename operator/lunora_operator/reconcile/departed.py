"""The app-run step that finishes interrupted deletions (owns `CleanedUp`).

A `deletionPolicy: Delete` container that left Kubernetes without its finalizer running (the
finalizer removed by hand, or the container deleted while no operator ran) may leave its
application behind, and Cloudflare refuses to delete a Durable Object class whose namespace
still serves one: its application is deleted as the policy declared, before the render drops
its class."""

from __future__ import annotations

import logging

from lunora_operator.api.naming import application_name
from lunora_operator.reconcile.app_run import AppRun
from lunora_operator.reconcile.application_apply import OBSERVE_MAX_AGE
from lunora_operator.reconcile.conditions import CLEANED_UP

logger = logging.getLogger(__name__)


async def delete_departed(run: AppRun) -> None:
    assert run.account is not None
    assert run.membership is not None
    for owned in run.membership.departed:
        explicit = run.previous_entries.get(owned.class_name, {}).get("name")
        name = application_name(
            run.app.spec.worker_name, owned.class_name, str(explicit) if explicit else None
        )
        deleted = await run.account.applications.delete(name, max_age=OBSERVE_MAX_AGE)
        if deleted is None:
            continue
        logger.info(
            "deleted application %s (%s) of the departed LunoraContainer %s", name, deleted.id, owned.resource
        )
        run.events.append(
            (
                "Normal",
                "ApplicationDeleted",
                f"deleted application {name} ({deleted.id}): LunoraContainer {owned.resource} "
                "(deletionPolicy Delete) left without its finalizer deleting it",
            )
        )
    run.draft.set(
        CLEANED_UP,
        "True",
        "NothingLeft",
        "no container that left with deletionPolicy Delete has an application left on Cloudflare",
    )
