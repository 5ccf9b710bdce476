"""A local-mode app's router in the cluster: its objects made to say what the operator wants
(compare-then-patch: an unchanged object gets no request), and whether its Deployment serves.
The readiness decisions are pure functions over the objects as the API server holds them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lunora_operator.kube.drift import drift_patch, owned_by
from lunora_operator.kube.objects import DEPLOYMENT, KINDS, POD, Objects
from lunora_operator.local import names
from lunora_operator.local.router_objects import HEALTH_PATH, RouterApp, RouterTemplate, router_objects
from lunora_operator.reconcile.errors import Stalled

NOT_READY_RETRY_SECONDS = 10.0
"""How soon a router that is not ready yet is looked at again (its Deployment's watch events wake
the app sooner)."""


@dataclass
class RouterApplied:
    """What making the router's objects say what they should did."""

    deployment: Mapping[str, Any]
    """The Deployment as the API server answered (its status tells whether it serves)."""
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


async def apply_router(objects: Objects, app: RouterApp, template: RouterTemplate) -> RouterApplied:
    """Creates what is missing, patches what drifted; an object of the router's name that is not
    the app's stalls (it is someone else's)."""
    created: list[str] = []
    updated: list[str] = []
    deployment: Mapping[str, Any] = {}
    for desired in router_objects(app, template):
        kind = KINDS[desired["kind"]]
        name = desired["metadata"]["name"]
        # Named in the app's Events as the kind alone, or with its own name when not the router's.
        said = kind.kind if name == app.object_name else f"{kind.kind} ({name})"
        observed = await objects.observe(kind, app.namespace, name)
        if observed is None:
            answer = await objects.create(kind, app.namespace, desired)
            created.append(said)
        elif not owned_by(observed, "LunoraApp", app.name):
            raise Stalled(
                "RouterNameTaken",
                f'{kind.kind} "{app.namespace}/{name}" exists and does not belong to LunoraApp '
                f"{app.name}: rename or delete it, and the operator creates the app's router",
            )
        elif patch := drift_patch(desired, observed):
            answer = await objects.patch(kind, app.namespace, name, patch)
            updated.append(said)
        else:
            answer = observed
        if kind is DEPLOYMENT:
            deployment = answer
    return RouterApplied(deployment, created, updated)


def deployment_unready(deployment: Mapping[str, Any]) -> str | None:
    """Why the router's Deployment does not serve its current template on every replica; None
    when it does."""
    metadata, spec = deployment.get("metadata") or {}, deployment.get("spec") or {}
    status = deployment.get("status") or {}
    generation, seen = metadata.get("generation"), status.get("observedGeneration")
    if generation is None or seen is None or seen < generation:
        return "the Deployment controller has not acted on its latest template yet"
    wanted = int(spec.get("replicas", 1))
    updated, total = int(status.get("updatedReplicas") or 0), int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < wanted:
        return f"{updated} of {wanted} replica(s) run the latest template"
    if total > updated:
        return f"{total - updated} replica(s) of an earlier template still stopping"
    if available < wanted:
        return f"{available} of {wanted} replica(s) ready (readiness: GET {HEALTH_PATH})"
    return None


def pod_problem(pod: Mapping[str, Any]) -> str | None:
    """What keeps a router Pod from serving, in the kubelet's words (its waiting reason, its last
    exit, its scheduling); None when nothing is known to be wrong."""
    status = pod.get("status") or {}
    for condition in status.get("conditions") or ():
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return f"not scheduled: {condition.get('message') or condition.get('reason')}"
    for container in status.get("containerStatuses") or ():
        waiting = (container.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") not in (None, "ContainerCreating"):
            return f"{waiting.get('reason')}: {waiting.get('message') or ''}".rstrip(": ")
        terminated = (container.get("lastState") or {}).get("terminated")
        if terminated:
            return f"exited with code {terminated.get('exitCode')} ({terminated.get('reason') or 'Error'})"
    return None


async def router_pods(objects: Objects, app: RouterApp) -> Sequence[Mapping[str, Any]]:
    return await objects.list(POD, app.namespace, names.router_selector(app.name))
