"""A local-mode app's own work, beside the Cloudflare pipeline: its router (the objects that run
it in the cluster, owned by the app, and whether it serves), and on deletion, its instances
stopped after its router. No Cloudflare call is made in local mode."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lunora_operator.api.resources import LunoraApp
from lunora_operator.api.status import RouterStatus
from lunora_operator.kube.objects import DEPLOYMENT, POD, Objects
from lunora_operator.local import names
from lunora_operator.local.router_objects import RouterApp, RouterTemplate
from lunora_operator.reconcile.app_run import AppOutcome
from lunora_operator.reconcile.conditions import ROUTER_READY
from lunora_operator.reconcile.errors import Waiting
from lunora_operator.reconcile.local_router import (
    NOT_READY_RETRY_SECONDS,
    apply_router,
    deployment_unready,
    pod_problem,
    router_pods,
)
from lunora_operator.reconcile.records import AppRecord
from lunora_operator.reconcile.status import StatusDraft
from lunora_operator.reconcile.steps import Step, run_steps

logger = logging.getLogger(__name__)
STOPPING_RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class LocalSettings:
    """How the operator runs local-mode apps' routers."""

    router: RouterTemplate | None = None
    """Each app's router runs in the cluster from this template; None: routers run outside the
    cluster (`--external-router`, as `make dev` runs one on the host), and the operator manages
    no router objects."""


def router_app(record: AppRecord, app: LunoraApp) -> RouterApp:
    return RouterApp(record.namespace, record.name, record.uid, app.spec.local.pull_secret)


@dataclass
class LocalAppRun:
    record: AppRecord
    router: RouterApp
    draft: StatusDraft
    events: list[tuple[str, str, str]] = field(default_factory=list)


class LocalAppPipeline:
    def __init__(self, objects: Objects, settings: LocalSettings) -> None:
        self.objects = objects
        self.settings = settings

    async def _external(self, run: LocalAppRun) -> None:
        app = run.router
        run.draft.set(
            ROUTER_READY,
            "True",
            "External",
            "the router runs outside the cluster (the operator runs with --external-router): "
            f"lunora-operator router --namespace {app.namespace} --app {app.name}",
        )

    async def _in_cluster(self, run: LocalAppRun) -> None:
        template = self.settings.router
        assert template is not None
        app = run.router
        applied = await apply_router(self.objects, app, template)
        if applied.created:
            run.events.append(
                ("Normal", "RouterCreated", f"created {', '.join(applied.created)} {app.object_name}")
            )
        if applied.updated:
            run.events.append(
                ("Normal", "RouterUpdated", f"updated {', '.join(applied.updated)} {app.object_name}")
            )
        await self._serving(run, applied.deployment)

    async def _serving(self, run: LocalAppRun, deployment: Mapping[str, Any]) -> None:
        app = run.router
        why = deployment_unready(deployment)
        if why is not None:
            problems = [p for p in map(pod_problem, await router_pods(self.objects, app)) if p]
            detail = f"; its Pod: {problems[0]}" if problems else ""
            raise Waiting(
                "RouterNotReady",
                f"router Deployment {app.object_name}: {why}{detail}",
                NOT_READY_RETRY_SECONDS,
            )
        run.draft.set(ROUTER_READY, "True", "Available", f"router {app.object_name} serves at {app.url}")

    def steps(self) -> list[Step[LocalAppRun]]:
        if self.settings.router is None:
            return [Step(ROUTER_READY, self._external)]
        return [Step(ROUTER_READY, self._in_cluster)]

    async def run(self, record: AppRecord, app: LunoraApp, draft: StatusDraft) -> AppOutcome:
        run = LocalAppRun(record=record, router=router_app(record, app), draft=draft)
        error = await run_steps(self.steps(), run, draft)
        router = None
        if self.settings.router is not None:
            router = RouterStatus(name=run.router.object_name, url=run.router.url)
        return AppOutcome(
            draft=draft,
            error=error,
            worker_name=app.spec.worker_name,
            events=tuple(run.events),
            mode="local",
            router=router,
        )

    async def _stop(self, app: RouterApp) -> None:
        """The router first (so no new instance starts), then every instance Pod of the app."""
        if self.settings.router is not None:
            await self.objects.delete(DEPLOYMENT, app.namespace, app.object_name)
            still = [str(p["metadata"]["name"]) for p in await router_pods(self.objects, app)]
            if still:
                raise Waiting(
                    "RouterStopping",
                    f"waiting for router Pod {', '.join(still)} to stop before stopping the instances",
                    STOPPING_RETRY_SECONDS,
                )
        pods = await self.objects.list(POD, app.namespace, names.instance_selector(app.name))
        for pod in pods:
            metadata = pod.get("metadata") or {}
            if not metadata.get("deletionTimestamp"):
                await self.objects.delete(POD, app.namespace, str(metadata["name"]))
        if pods:
            logger.info("LunoraApp %s/%s: stopped %d instance Pod(s)", app.namespace, app.name, len(pods))

    async def finalize(self, body: Mapping[str, Any]) -> None:
        """A local-mode app being deleted: its router stops, then its instances (the garbage
        collector removes the router's objects once the app is gone). Raises a StepError while
        it cannot finish."""
        record = AppRecord.from_body(body)
        pull_secret = ((record.wire.get("spec") or {}).get("local") or {}).get("pullSecret")
        app = RouterApp(record.namespace, record.name, record.uid, pull_secret)
        error = await run_steps([Step[RouterApp](None, self._stop)], app, None)
        if error is not None:
            raise error
