"""Operator-wide settings: kopf keeps its own bookkeeping in `lunora.sh` annotations (never in our
closed status schema), one finalizer name, quiet Events."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from typing import Any

import kopf

from lunora_operator.kube.connection import connection_info

PREFIX = "lunora.sh"
FINALIZER = f"{PREFIX}/finalizer"


class QuietRoutineHandlers(logging.Filter):
    """Drops kopf's per-event "succeeded" lines of the watch and index handlers (one per watch
    event, they drown what matters); failures and everything else stay."""

    ROUTINE = ("Handler 'container_event' succeeded", "Handler 'app_event' succeeded", "Indexer ")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.INFO and record.getMessage().startswith(self.ROUTINE))


def configure(settings: kopf.OperatorSettings) -> None:
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = FINALIZER
    settings.posting.reporting_component = "lunora-operator"
    # kopf turns handler log lines into Events; ours are posted on transitions only.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.enforce_retry_after = True
    settings.execution.max_workers = 8
    objects = logging.getLogger("kopf.objects")
    if not any(isinstance(f, QuietRoutineHandlers) for f in objects.filters):
        objects.addFilter(QuietRoutineHandlers())


@kopf.on.startup()
async def on_startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    configure(settings)


@kopf.on.cleanup()
async def on_cleanup(memo: kopf.Memo, **_: Any) -> None:
    controller = memo.get("controller")
    if controller is not None:
        await controller.close()


@kopf.on.login()
def on_login(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> kopf.ConnectionInfo | None:
    """The kubeconfig `run` was given, read again at each login; else the Pod's service account
    (its token file is read again at each login: the kubelet rotates it), at the address the
    kubelet gives every Pod."""
    kubeconfig = memo.get("kubeconfig")
    if kubeconfig is not None:
        return connection_info(kubeconfig)
    info = kopf.login_with_service_account(settings=settings, **kwargs)
    return None if info is None else dataclasses.replace(info, server=in_cluster_server(os.environ))


def in_cluster_server(environ: Mapping[str, str]) -> str:
    """The API server's address as the kubelet gives it to every Pod (KUBERNETES_SERVICE_HOST
    and _PORT), as the official clients use it; kopf's own login names kubernetes.default.svc,
    which needs cluster DNS."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        return "https://kubernetes.default.svc"
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
