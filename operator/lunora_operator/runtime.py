"""`lunora-operator run`: the operator process (kopf embedded), its clients and settings."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kopf
from kopf._core.engines.peering import Identity, detect_own_id
from kubernetes import client

from lunora_operator.clock import SYSTEM_CLOCK, Clock
from lunora_operator.cloudflare import CloudflareClients, RetryPolicy
from lunora_operator.controller import Controller, ControllerSettings, LocalWiring
from lunora_operator.handlers.inventory import KopfInstancePods, KopfInventory
from lunora_operator.kube.connection import CONNECTION_POOL, kubernetes_configuration
from lunora_operator.kube.gateway import Kube, KubeGateway
from lunora_operator.kube.objects import KubeObjects
from lunora_operator.local.egress.network_policy import KUBE_DNS, Peer
from lunora_operator.local.router_objects import RouterTemplate
from lunora_operator.peering import (
    DEFAULT_LIFETIME,
    DEFAULT_PEERING,
    GLOB_CHARACTERS,
    PeeringObjects,
    WriteLease,
    ensure_peering_objects,
    start_time_priority,
    use_fresh_dead_peer_cleanup,
)
from lunora_operator.reconcile.container import ImageResolver
from lunora_operator.reconcile.local_app import LocalSettings
from lunora_operator.reconcile.local_container import LocalImages

logger = logging.getLogger(__name__)

WORKER_THREADS = CONNECTION_POOL
"""Threads for blocking calls (Kubernetes, the Docker engine): an image push holds one for
minutes, and Kubernetes calls must not queue behind it."""


@dataclass(frozen=True)
class RunOptions:
    namespaces: Sequence[str] = ()
    all_namespaces: bool = False
    kubeconfig: Path | None = None
    """The kubeconfig (the command line reads $KUBECONFIG into it); None: the Pod's service account."""
    liveness_endpoint: str | None = None
    standalone: bool = False
    """Without peering: nothing stops a second process from acting too (run one replica, Recreate)."""
    priority: int | None = None
    """Peering priority; None: from the start time, so the process already running stays active."""
    peering_name: str = DEFAULT_PEERING
    peering_lifetime: int = DEFAULT_LIFETIME
    """Seconds a keep-alive counts: a standby takes over this long after the active one died."""
    settings: ControllerSettings = field(default_factory=ControllerSettings)
    cloudflare_retry: RetryPolicy = field(default_factory=RetryPolicy)
    router_image: str | None = None
    """Local mode: the image of each app's router Deployment (the operator's own)."""
    router_pull_secrets: Sequence[str] = ()
    router_env: Sequence[tuple[str, str]] = ()
    router_exec_helper_image: str | None = None
    """Local mode: the exec helper's image each router gives its instance Pods; None: no exec."""
    external_router: bool = False
    """Local mode: routers run outside the cluster; the operator creates no router objects."""
    egress_proxy_args: Sequence[str] = ()
    """Local mode: extra arguments of each app's egress proxy."""
    egress_dns: Peer | None = KUBE_DNS
    """Local mode: the DNS server instance Pods may query; None: none."""

    def local_settings(self) -> LocalSettings | None:
        """How local-mode routers run; None when neither a router image nor external routers
        were given (local-mode apps then say LocalModeNotConfigured)."""
        if self.external_router:
            return LocalSettings(router=None)
        if self.router_image is None:
            return None
        template = RouterTemplate(
            self.router_image,
            tuple(self.router_pull_secrets),
            tuple(self.router_env),
            exec_helper_image=self.router_exec_helper_image,
            egress_proxy_args=tuple(self.egress_proxy_args),
            egress_dns=self.egress_dns,
        )
        return LocalSettings(router=template)


def _events(body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
    kopf.event(kopf.Body(dict(body)), type=type, reason=reason, message=message)  # type: ignore[arg-type]


class LeaseLost(RuntimeError):
    """The process lost the peering's write lease (another took over while it was paused)."""


def kubernetes_client(kubeconfig: Path | None) -> client.ApiClient:
    """From the kubeconfig given, else the Pod's service account."""
    return client.ApiClient(kubernetes_configuration(kubeconfig))


def peering_settings(options: RunOptions, clock: Clock) -> kopf.OperatorSettings:
    """kopf's peering settings: the lifetime, and the priority (from the start time unless given,
    so the process already running stays active)."""
    settings = kopf.OperatorSettings()
    settings.peering.lifetime = options.peering_lifetime
    if not options.standalone:
        settings.peering.priority = (
            start_time_priority(clock.now().timestamp()) if options.priority is None else options.priority
        )
    return settings


def write_lease(options: RunOptions, clock: Clock = SYSTEM_CLOCK) -> WriteLease | None:
    """The fence of this process's writes (None with --standalone), with the kopf settings and
    identity the operator runs with, so both see the same priority and lifetime."""
    if options.standalone:
        return None
    api = kubernetes_client(options.kubeconfig)
    places: list[str | None] = (
        [None]
        if options.all_namespaces
        else [namespace for namespace in options.namespaces if not GLOB_CHARACTERS & set(namespace)]
    )
    objects = [PeeringObjects(api, options.peering_name, namespace) for namespace in places]
    return WriteLease(objects, detect_own_id(manual=False), peering_settings(options, clock))


def build_controller(
    options: RunOptions,
    images: Callable[[Kube, Clock], ImageResolver],
    clock: Clock = SYSTEM_CLOCK,
    write_guard: Callable[[], Awaitable[None]] | None = None,
    local_images: Callable[[Kube], LocalImages] | None = None,
) -> Controller:
    api = kubernetes_client(options.kubeconfig)
    kube = KubeGateway(api, write_guard=write_guard)
    local_settings = options.local_settings()
    local = None
    if local_settings is not None and local_images is not None:
        local = LocalWiring(
            KubeObjects(api, write_guard), local_images(kube), KopfInstancePods(), local_settings
        )
    return Controller(
        kube=kube,
        cloudflare=CloudflareClients(retry=options.cloudflare_retry, clock=clock, write_guard=write_guard),
        images=images(kube, clock),
        inventory=KopfInventory(),
        settings=options.settings,
        events=_events,
        clock=clock,
        local=local,
    )


async def run_operator(
    options: RunOptions,
    controller: Controller,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
    clock: Clock = SYSTEM_CLOCK,
    lease: WriteLease | None = None,
) -> None:
    """Runs kopf until stopped. With a `lease` (see write_lease) the process also takes and
    renews the write lease, and stops with LeaseLost when another process took over."""
    import lunora_operator.handlers  # noqa: F401  (registers the handlers)
    from lunora_operator.handlers import local

    if controller.instance_pods is not None:  # local mode wired: its watches too
        local.register(kopf.get_default_registry())

    settings = lease.settings if lease is not None else peering_settings(options, clock)
    if not options.standalone:
        use_fresh_dead_peer_cleanup()
        await asyncio.to_thread(
            ensure_peering_objects,
            client.ApiClient(kubernetes_configuration(options.kubeconfig)),
            options.peering_name,
            options.namespaces,
            options.all_namespaces,
        )
    stop = asyncio.Event()
    lost: list[str] = []

    def on_lost(reason: str) -> None:
        lost.append(reason)
        stop.set()

    async def relay_stop() -> None:
        if stop_flag is not None:
            await stop_flag.wait()
            stop.set()

    # Created before kopf starts, so kopf's shutdown (which cancels every task it finds that did
    # not exist before it) leaves them to this function.
    started = asyncio.Event()

    def on_signal() -> None:
        # Stopping: no new Cloudflare write starts, and a standby that is stopping too never takes
        # over (helm uninstall stops every replica at once). kopf then stops as on its own signal.
        if lease is not None:
            lease.stopping = True
        stop.set()

    async def take_signals() -> None:
        await started.wait()
        if ready_flag is not None:
            ready_flag.set()
        if threading.current_thread() is threading.main_thread():
            # After kopf installed its own handlers, which these replace.
            for number in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(number, on_signal)

    helpers = [
        asyncio.create_task(relay_stop(), name="stop-flag relay"),
        asyncio.create_task(take_signals(), name="signal handlers"),
    ]
    if lease is not None:
        helpers.append(asyncio.create_task(lease.run(on_lost), name="peering write lease"))
    try:
        await kopf.operator(
            clusterwide=options.all_namespaces,
            namespaces=list(options.namespaces),
            liveness_endpoint=options.liveness_endpoint,
            standalone=options.standalone,
            settings=settings,
            identity=None if lease is None else Identity(lease.identity),
            # A named peering is mandatory for kopf: paused until the peering object shows no
            # peer above this process. Standalone names none.
            peering_name=None if options.standalone else options.peering_name,
            memo=kopf.Memo(controller=controller, kubeconfig=options.kubeconfig),
            stop_flag=stop,
            ready_flag=started,
        )
    finally:
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
    if lost:
        raise LeaseLost(lost[0])
