"""The running operator, wired: one reconcile loop per resource (woken by changes and by the
resync interval), container passes, each app's shared run, the finalizers. kopf wiring lives in
`handlers/`; the work lives in `reconcile/`, plain async code that tests drive directly.

Data flows one way: handler → Controller (loop) → pass → steps → the edges (Kubernetes,
Cloudflare, the image pipeline)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lunora_operator.clock import SYSTEM_CLOCK, Clock
from lunora_operator.cloudflare import CloudflareClients
from lunora_operator.kube.gateway import Kube, KubeUnavailable
from lunora_operator.kube.objects import Objects
from lunora_operator.metrics import RECONCILES
from lunora_operator.reconcile.app_pipeline import AppPipeline
from lunora_operator.reconcile.app_renders import APPS, AppRenders
from lunora_operator.reconcile.app_run import AppOutcome
from lunora_operator.reconcile.container import ContainerDeps, ImageResolver
from lunora_operator.reconcile.container_pass import ContainerPasses
from lunora_operator.reconcile.errors import StepError
from lunora_operator.reconcile.finalizers import APP_PATIENCE_SECONDS, Finalizers
from lunora_operator.reconcile.local_app import LocalAppPipeline, LocalSettings
from lunora_operator.reconcile.local_container import UNCONFIGURED, LocalContainerDeps, LocalImages
from lunora_operator.reconcile.local_egress import NoRouterEgress, PodRouterEgress, RouterEgress
from lunora_operator.reconcile.local_instances import InstanceChanges, InstancePod, InstancePods
from lunora_operator.reconcile.loops import Loops, Stopped
from lunora_operator.reconcile.records import AppRecord, ContainerRecord, Inventory, requested_at
from lunora_operator.reconcile.status_writer import EventSink, StatusWriter, no_events

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControllerSettings:
    resync_interval: float = 600.0
    """Seconds between drift checks of an object nothing changed."""
    render_quiet: float = 0.2
    render_max_delay: float = 2.0
    flavour: str = "lunora"
    finalizer_patience: float = APP_PATIENCE_SECONDS
    """Seconds one call of an app's finalizer waits for its containers to go before it says so."""


@dataclass(frozen=True)
class LocalWiring:
    """Local mode's edges: the router's objects, image pushes to the apps' registries, the
    instance Pods watched, and how routers run."""

    objects: Objects
    images: LocalImages
    pods: InstancePods
    settings: LocalSettings
    egress: RouterEgress | None = None
    """Where containers' egress counts come from when routers run in the cluster; None: the app's
    router Pods."""


class Controller:
    def __init__(
        self,
        kube: Kube,
        cloudflare: CloudflareClients,
        images: ImageResolver,
        inventory: Inventory,
        settings: ControllerSettings | None = None,
        events: EventSink = no_events,
        clock: Clock = SYSTEM_CLOCK,
        local: LocalWiring | None = None,
    ) -> None:
        self.settings = settings or ControllerSettings()
        self.inventory = inventory
        self.cloudflare = cloudflare
        self.loops = Loops(self.settings.resync_interval)
        self.status = StatusWriter(kube, clock, events)
        self.local_apps = LocalAppPipeline(local.objects, local.settings) if local is not None else None
        self.instance_pods = local.pods if local is not None else None
        self._instance_changes = InstanceChanges()
        pipeline = AppPipeline(kube, cloudflare, inventory, self.settings.flavour, local=self.local_apps)
        self.renders = AppRenders(
            pipeline,
            cloudflare,
            inventory,
            self.status,
            self.loops,
            events,
            clock,
            quiet=self.settings.render_quiet,
            max_delay=self.settings.render_max_delay,
        )
        deps = ContainerDeps(kube, cloudflare, inventory, images, self.renders)
        local_deps = UNCONFIGURED
        if local is not None:
            egress: RouterEgress = NoRouterEgress()
            if local.settings.router is not None:  # a router outside the cluster is not the operator's to ask
                egress = local.egress or PodRouterEgress(local.objects)
            local_deps = LocalContainerDeps(local.images, local.pods, egress)
        self.containers = ContainerPasses(deps, self.status, inventory, events, clock, local_deps)
        self.finalizers = Finalizers(
            kube, cloudflare, inventory, self.renders, events, clock, self.settings.finalizer_patience
        )

    # --- watch events ----------------------------------------------------------------------------

    def watched(self, event_type: str, body: Mapping[str, Any]) -> None:
        """A watch event of either kind: wake the object's loop on a change of its spec or of its
        reconcile request. Something gone: its app renders without it, and once an app and all
        its containers are gone, what the process kept for them goes too."""
        metadata = body.get("metadata") or {}
        uid = str(metadata.get("uid"))
        if event_type != "DELETED":
            self.loops.notice(uid, int(metadata.get("generation") or 0), requested_at(body))
            return
        self.loops.forget(uid)
        self.status.forget(uid)
        namespace = str(metadata.get("namespace"))
        app = str((body.get("spec") or {}).get("app", "")) if body.get("kind") == "LunoraContainer" else None
        key = (namespace, app if app is not None else str(metadata.get("name")))
        if self.inventory.app(key) is None and not self.inventory.containers(key):
            self.renders.forget(key)
        elif app is not None:
            self.renders.rerender(key)

    def instance_pod_watched(self, event_type: str, body: Mapping[str, Any]) -> None:
        """An instance Pod changed: its container's pass counts again, when a count changed."""
        pod = InstancePod.from_body(body)
        if pod is not None and self._instance_changes.changed(event_type, pod):
            self.loops.wake(pod.container_uid)

    def router_watched(self, body: Mapping[str, Any]) -> None:
        """A router Deployment changed (its Pod became ready, someone edited it): its app looks at
        it again, and its containers, whose Ready follows the router's."""
        metadata = body.get("metadata") or {}
        for owner in metadata.get("ownerReferences") or ():
            if owner.get("kind") == "LunoraApp":
                self.loops.wake(str(owner.get("uid")))
                for container in self.inventory.containers(
                    (str(metadata.get("namespace")), str(owner.get("name")))
                ):
                    self.loops.wake(container.uid)

    # --- loops (kopf daemons) ---------------------------------------------------------------------

    async def container_loop(self, body: Mapping[str, Any], stopped: Stopped) -> None:
        """A container's reconcile loop: a pass, then rest until a change, the retry delay of an
        error, or the resync interval."""
        uid = str(body["metadata"]["uid"])
        while not stopped:
            self.loops.begin(uid)
            try:
                stopped_by = await self.reconcile_container(body)
                delay = self.loops.next_pass_in(stopped_by)
            except KubeUnavailable as error:
                logger.warning("%s", error)
                delay = self.loops.after_kube_error(error)
            await self.loops.rest(uid, stopped, delay)

    async def app_loop(self, body: Mapping[str, Any], stopped: Stopped) -> None:
        uid = str(body["metadata"]["uid"])
        while not stopped:
            self.loops.begin(uid)
            try:
                outcome = await self.reconcile_app(body)
                RECONCILES.labels(APPS, outcome.error.kind if outcome.error else "ready").inc()
                delay = self.loops.next_pass_in(outcome.error)
            except KubeUnavailable as error:
                logger.warning("%s", error)
                delay = self.loops.after_kube_error(error)
            await self.loops.rest(uid, stopped, delay)

    # --- passes -----------------------------------------------------------------------------------

    async def reconcile_container(self, body: Mapping[str, Any]) -> StepError | None:
        """One pass over a container; returns the error that stopped it (None when done)."""
        record = ContainerRecord.from_body(body)
        self.loops.handling(record.uid, record.generation, requested_at(body))
        return await self.containers.run(body)

    async def reconcile_app(self, body: Mapping[str, Any], observe_cloudflare: bool = True) -> AppOutcome:
        """The app's own pass (it also looks at Cloudflare for drift)."""
        record = AppRecord.from_body(body)
        self.loops.handling(record.uid, record.generation, requested_at(record.wire))
        return await self.renders.reconcile(record, observe_cloudflare)

    # --- deletion ---------------------------------------------------------------------------------

    def _local(self, container: ContainerRecord, body: Mapping[str, Any]) -> bool:
        app = self.inventory.app(container.app_key)
        return app.mode == "local" if app is not None else (body.get("status") or {}).get("mode") == "local"

    async def finalize_container(self, body: Mapping[str, Any]) -> None:
        if self._local(ContainerRecord.from_body(body), body):
            return  # nothing outside the cluster; its Pods and Secrets go with it (garbage collector)
        await self.finalizers.finalize_container(body)

    async def finalize_app(self, body: Mapping[str, Any]) -> None:
        if AppRecord.from_body(body).mode == "local":
            if self.local_apps is not None:  # without local mode wired, nothing ran for it
                await self.local_apps.finalize(body)
            return
        await self.finalizers.finalize_app(body)

    async def close(self) -> None:
        await self.renders.close()
        await self.cloudflare.aclose()
