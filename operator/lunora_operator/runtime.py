"""`lunora-operator run`: the operator process (kopf embedded), its clients and settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kopf
from kubernetes import client

from lunora_operator.clock import SYSTEM_CLOCK, Clock
from lunora_operator.cloudflare import CloudflareClients, RetryPolicy
from lunora_operator.controller import Controller, ControllerSettings
from lunora_operator.handlers.inventory import KopfInventory
from lunora_operator.kube.connection import CONNECTION_POOL, kubernetes_configuration
from lunora_operator.kube.gateway import Kube, KubeGateway
from lunora_operator.peering import DEFAULT_PEERING, ensure_peering_objects, start_time_priority
from lunora_operator.reconcile.container import ImageResolver

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
    settings: ControllerSettings = field(default_factory=ControllerSettings)
    cloudflare_retry: RetryPolicy = field(default_factory=RetryPolicy)


def _events(body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
    kopf.event(kopf.Body(dict(body)), type=type, reason=reason, message=message)  # type: ignore[arg-type]


def build_controller(
    options: RunOptions, images: Callable[[Kube, Clock], ImageResolver], clock: Clock = SYSTEM_CLOCK
) -> Controller:
    kube = KubeGateway(client.ApiClient(kubernetes_configuration(options.kubeconfig)))
    return Controller(
        kube=kube,
        cloudflare=CloudflareClients(retry=options.cloudflare_retry, clock=clock),
        images=images(kube, clock),
        inventory=KopfInventory(),
        settings=options.settings,
        events=_events,
        clock=clock,
    )


async def run_operator(
    options: RunOptions,
    controller: Controller,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    import lunora_operator.handlers  # noqa: F401  (registers the handlers)

    priority = options.priority
    if not options.standalone:
        priority = start_time_priority(clock.now().timestamp()) if priority is None else priority
        await asyncio.to_thread(
            ensure_peering_objects,
            client.ApiClient(kubernetes_configuration(options.kubeconfig)),
            options.peering_name,
            options.namespaces,
            options.all_namespaces,
        )
    await kopf.operator(
        clusterwide=options.all_namespaces,
        namespaces=list(options.namespaces),
        liveness_endpoint=options.liveness_endpoint,
        standalone=options.standalone,
        priority=priority,
        # A named peering is mandatory for kopf: paused until the peering object shows no peer
        # above this process. Standalone names none.
        peering_name=None if options.standalone else options.peering_name,
        memo=kopf.Memo(controller=controller, kubeconfig=options.kubeconfig),
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )
