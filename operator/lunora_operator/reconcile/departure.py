"""When a `deletionPolicy: Delete` container being deleted may let its finalizer go (pure).

The rule: it goes as soon as nothing of it is left on Cloudflare. Its application is gone
already (the finalizer's first step); what is left is its Durable Object class, and the class
is gone when the Worker does not exist or does not declare it. A Worker that still declares it
loses it with the next upload of the rendered config, which no longer lists the container:

- with a `worker` bundle the operator uploads it (a `deleted_classes` migration): the finalizer
  waits for that upload, and says why when it cannot be made;
- without one a person deploys it with `wrangler deploy`: the finalizer goes once the config
  without the container is published and does not wait for a deploy that may never come; the
  app's `WorkerDeployed` condition says the migration waits for the deploy.
"""

from __future__ import annotations

from lunora_operator.reconcile.app_run import AppOutcome, WorkerOnCloudflare
from lunora_operator.reconcile.errors import StepError, Waiting
from lunora_operator.reconcile.steps import NAMESPACE_TERMINATING

RETRY_SECONDS = 5.0


def class_left(worker: WorkerOnCloudflare | None, class_name: str | None) -> bool:
    """Whether Cloudflare, as last read, holds nothing of the class."""
    if worker is None:
        return False
    return not worker.exists or class_name is None or class_name not in worker.classes


def departure_wait(
    outcome: AppOutcome, worker: WorkerOnCloudflare | None, container: str, class_name: str | None
) -> StepError | None:
    """Why the container must keep its finalizer after its app's render without it; None when it
    may go. `worker` is what Cloudflare has of the app's Worker (None when it could not be read)."""
    if class_left(worker, class_name):
        return None
    if outcome.error is not None and outcome.error.reason == NAMESPACE_TERMINATING:
        return None  # the app goes with its namespace: as when it is deleted, nothing is rendered
    if container in outcome.rendered:
        return Waiting(
            "RenderPending", f"the rendered config still lists LunoraContainer {container}", RETRY_SECONDS
        )
    if worker is not None and not outcome.bundle and outcome.published:
        return None  # the deletion is in the config; `wrangler deploy` applies it (the app says so)
    declared = f"Worker {outcome.worker_name or '(unknown)'} still declares class {class_name}"
    error = outcome.error
    if error is not None:
        return type(error)(error.reason, f"{declared}: {error.message}", error.retry_after)
    if outcome.suspended:
        return Waiting(
            "AppSuspended",
            f"{declared}, and the LunoraApp is suspended (spec.suspend), so the config without the "
            "container is not rendered; resume the app",
            RETRY_SECONDS,
        )
    return Waiting(
        "ClassStillDeclared",
        f"{declared} after the config without the container was deployed; the operator looks again",
        RETRY_SECONDS,
    )
