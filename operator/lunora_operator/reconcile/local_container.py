"""A LunoraContainer of a local-mode app, a step list beside the Cloudflare one: validate →
instances → resolve the app and Secrets → image (built and pushed to the app's `local.registry`)
→ router (the app's router serves). Each step owns a condition as in Cloudflare mode; no step
calls Cloudflare."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.reconcile.conditions import IMAGE_READY, ROUTER_READY
from lunora_operator.reconcile.container import (
    ContainerDeps,
    ContainerRun,
    ResolvedImage,
    _app_error,
    resolve,
    validate,
)
from lunora_operator.reconcile.errors import Stalled, Waiting
from lunora_operator.reconcile.local_egress import NoRouterEgress, RouterEgress
from lunora_operator.reconcile.local_instances import InstancePod, InstancePods, instances_status
from lunora_operator.reconcile.records import ContainerRecord
from lunora_operator.reconcile.status import StatusDraft
from lunora_operator.reconcile.steps import Halt, Step, run_steps


class LocalImages(Protocol):
    """Builds a `build` image and pushes it where the cluster pulls from."""

    async def resolve(
        self, container: LunoraContainer, app: LunoraApp, names: ContainerNames
    ) -> ResolvedImage: ...


@dataclass(frozen=True)
class LocalContainerDeps:
    images: LocalImages
    pods: InstancePods
    egress: RouterEgress = field(default_factory=NoRouterEgress)
    """Where status.egress comes from: the app's router in the cluster, else nowhere."""


class _NoImages:
    async def resolve(
        self, container: LunoraContainer, app: LunoraApp, names: ContainerNames
    ) -> ResolvedImage:
        raise Stalled("LocalModeNotConfigured", "this operator builds no images for local mode")


class _NoPods:
    def of(self, container_uid: str) -> Sequence[InstancePod]:
        return ()


UNCONFIGURED = LocalContainerDeps(images=_NoImages(), pods=_NoPods())
"""What an operator wired without local mode has: its apps say so (LocalModeNotConfigured)."""


async def instances(run: ContainerRun, local: LocalContainerDeps) -> None:
    assert run.resource is not None
    pods = local.pods.of(run.record.uid)
    run.instances = instances_status(pods, run.resource.spec.max_instances, run.record.app, run.record.name)


async def image(run: ContainerRun, local: LocalContainerDeps) -> None:
    assert run.resource is not None
    assert run.app is not None
    assert run.names is not None
    if run.resource.spec.image.registry is not None:
        run.image = ResolvedImage(reference=run.resource.spec.image.registry)
        run.draft.set(IMAGE_READY, "True", "Resolved", f"registry image {run.image.reference}")
        return
    run.image = await local.images.resolve(run.resource, run.app, run.names)
    if run.image.pushed:
        run.events.append(
            ("Normal", "Pushed", f"built and pushed {run.image.reference} ({run.image.digest})")
        )
    run.draft.set(IMAGE_READY, "True", "Pushed", f"{run.image.reference} ({run.image.digest})")


async def router(run: ContainerRun, deps: ContainerDeps) -> None:
    """The app's router serves (as the app's last run found it; that run is shared, debounced)."""
    outcome = run.outcome = await deps.renders.request(run.record.app_key)
    if outcome.suspended:
        run.suspended = True
        raise Halt
    if outcome.mode != "local":
        raise Waiting("ModeChanging", "the LunoraApp was last reconciled in cloudflare mode")
    if outcome.error is not None:
        raise _app_error(outcome)
    said = outcome.draft.conditions.get(ROUTER_READY)
    if said is not None:
        run.draft.set(ROUTER_READY, said.status, said.reason, said.message)


async def egress(run: ContainerRun, local: LocalContainerDeps) -> None:
    """The egress counts, once the router serves; unknown this pass leaves them as they were."""
    run.egress = await local.egress.summary(run.record.namespace, run.record.app, run.record.name)


def local_container_steps(deps: ContainerDeps, local: LocalContainerDeps) -> list[Step[ContainerRun]]:
    return [
        Step(None, validate),
        Step(None, lambda run: instances(run, local)),
        Step(None, lambda run: resolve(run, deps)),
        Step(IMAGE_READY, lambda run: image(run, local)),
        Step(ROUTER_READY, lambda run: router(run, deps)),
        Step(None, lambda run: egress(run, local)),
    ]


def local_ready_message(run: ContainerRun) -> str:
    image = run.image.reference if run.image is not None else "?"
    router = run.outcome.router if run.outcome is not None else None
    where = f"router {router.url}" if router is not None and router.url else "its router"
    return f"runs {image} behind {where}"


async def reconcile_local_container(
    record: ContainerRecord, deps: ContainerDeps, local: LocalContainerDeps
) -> ContainerRun:
    """One pass of the local steps, summarised into `Ready` (the image is resolved and the
    router serves)."""
    run = ContainerRun(record=record, draft=StatusDraft(record.generation))
    run.error = await run_steps(local_container_steps(deps, local), run, run.draft)
    run.draft.summarise(run.error, local_ready_message(run))
    return run
