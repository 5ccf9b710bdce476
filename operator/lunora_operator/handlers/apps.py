"""LunoraApp: an index by name, a reconcile loop per object (the app's shared render), and a
finalizer that outlives the app's containers being deleted with it."""

from __future__ import annotations

from typing import Any

import kopf

from lunora_operator.api.base import GROUP, VERSION
from lunora_operator.handlers.common import controller_of, temporary
from lunora_operator.reconcile.errors import StepError
from lunora_operator.reconcile.records import AppRecord

PLURAL = "lunoraapps"


@kopf.index(GROUP, VERSION, PLURAL)
def app_index(body: kopf.Body, **_: Any) -> dict[Any, AppRecord]:
    record = AppRecord.from_body(body)
    return {record.key: record}


@kopf.on.event(GROUP, VERSION, PLURAL)
async def app_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    controller_of(memo, kwargs).watched(str(event.get("type")), body)


@kopf.daemon(GROUP, VERSION, PLURAL, id="reconcile", cancellation_timeout=30.0)
async def app_daemon(body: kopf.Body, stopped: kopf.DaemonStopped, memo: kopf.Memo, **kwargs: Any) -> None:
    await controller_of(memo, kwargs).app_loop(body, stopped)


@kopf.on.delete(GROUP, VERSION, PLURAL, id="outlive-containers")
async def app_deleted(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    try:
        await controller_of(memo, kwargs).finalize_app(body)
    except StepError as error:
        raise temporary(error) from None
