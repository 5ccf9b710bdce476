"""`lunora-operator run`: the operator process (kopf embedded), its clients and settings."""

from __future__ import annotations

import asyncio
import logging
import os
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
from lunora_operator.reconcile.container import ImageResolver

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    namespaces: Sequence[str] = ()
    all_namespaces: bool = False
    kubeconfig: Path | None = None
    liveness_endpoint: str | None = None
    standalone: bool = True
    """Without peering: one operator per cluster (Deployment with 1 replica, Recreate)."""
    priority: int = 0
    peering_name: str = "lunora-operator"
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
    await kopf.operator(
        clusterwide=options.all_namespaces,
        namespaces=list(options.namespaces),
        liveness_endpoint=options.liveness_endpoint,
        standalone=options.standalone,
        priority=options.priority,
        # Naming a peering makes kopf require its CRD; standalone names none.
        peering_name=None if options.standalone else options.peering_name,
        memo=kopf.Memo(controller=controller),
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )
