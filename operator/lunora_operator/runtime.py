"""`lunora-operator run`: the operator process (kopf embedded), its clients and settings."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kopf
from kubernetes import client, config

from lunora_operator.cloudflare import CloudflareClients, RetryPolicy
from lunora_operator.controller import Controller, ControllerSettings
from lunora_operator.handlers.inventory import KopfInventory
from lunora_operator.kube.gateway import Kube, KubeGateway
from lunora_operator.peering import DEFAULT_PEERING, ensure_peering_objects, start_time_priority
from lunora_operator.reconcile.container import ImageResolver

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    namespaces: Sequence[str] = ()
    all_namespaces: bool = False
    kubeconfig: Path | None = None
    liveness_endpoint: str | None = None
    standalone: bool = False
    """Without peering: nothing stops a second process from acting too (run one replica, Recreate)."""
    priority: int | None = None
    """Peering priority; None: from the start time, so the process already running stays active."""
    peering_name: str = DEFAULT_PEERING
    settings: ControllerSettings = field(default_factory=ControllerSettings)
    cloudflare_retry: RetryPolicy = field(default_factory=RetryPolicy)


def kubernetes_client(kubeconfig: Path | None) -> client.ApiClient:
    """From the kubeconfig given (or $KUBECONFIG), else the Pod's service account."""
    configuration = client.Configuration()
    path = kubeconfig or (Path(os.environ["KUBECONFIG"]) if os.environ.get("KUBECONFIG") else None)
    if path is not None:
        config.load_kube_config(config_file=str(path), client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


def _events(body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
    kopf.event(kopf.Body(dict(body)), type=type, reason=reason, message=message)  # type: ignore[arg-type]


def build_controller(options: RunOptions, images: Callable[[Kube], ImageResolver]) -> Controller:
    kube = KubeGateway(kubernetes_client(options.kubeconfig))
    return Controller(
        kube=kube,
        cloudflare=CloudflareClients(retry=options.cloudflare_retry),
        images=images(kube),
        inventory=KopfInventory(),
        settings=options.settings,
        events=_events,
    )


async def run_operator(
    options: RunOptions,
    controller: Controller,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
) -> None:
    import lunora_operator.handlers  # noqa: F401  (registers the handlers)

    if options.kubeconfig is not None:
        os.environ["KUBECONFIG"] = str(options.kubeconfig)  # kopf's own login reads it
    priority = options.priority
    if not options.standalone:
        priority = start_time_priority(time.time()) if priority is None else priority
        await asyncio.to_thread(
            ensure_peering_objects,
            kubernetes_client(options.kubeconfig),
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
        memo=kopf.Memo(controller=controller),
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )
