"""LunoraApp: an index by name and a reconcile loop per object (the app's shared render)."""

from __future__ import annotations

from typing import Any

import kopf

from lunora_operator.api.base import GROUP, VERSION
from lunora_operator.controller import Controller
from lunora_operator.handlers.containers import _controller
from lunora_operator.reconcile.records import AppRecord

PLURAL = "lunoraapps"


@kopf.index(GROUP, VERSION, PLURAL)
def app_index(body: kopf.Body, **_: Any) -> dict[Any, AppRecord]:
    record = AppRecord.from_body(body)
    return {record.key: record}


@kopf.on.event(GROUP, VERSION, PLURAL)
def app_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    controller: Controller = _controller(memo, kwargs)
    metadata = body.get("metadata") or {}
    uid = str(metadata.get("uid"))
    if event.get("type") == "DELETED":
        controller.forget(uid)
        return
    annotations = metadata.get("annotations") or {}
    controller.notice(
        uid, int(metadata.get("generation") or 0), annotations.get("reconcile.lunora.sh/requestedAt")
    )


@kopf.daemon(GROUP, VERSION, PLURAL, id="reconcile", cancellation_timeout=30.0)
async def app_daemon(
    body: kopf.Body,
    stopped: kopf.DaemonStopped,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    await _controller(memo, kwargs).app_loop(body, stopped)
