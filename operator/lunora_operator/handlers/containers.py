"""LunoraContainer: an index by app, a reconcile loop per object, a finalizer for Delete."""

from __future__ import annotations

from typing import Any

import kopf

from lunora_operator.api.base import GROUP, VERSION
from lunora_operator.handlers.common import controller_of, temporary
from lunora_operator.reconcile.errors import StepError
from lunora_operator.reconcile.records import ContainerRecord

PLURAL = "lunoracontainers"


@kopf.index(GROUP, VERSION, PLURAL)
def container_index(body: kopf.Body, **_: Any) -> dict[Any, ContainerRecord]:
    record = ContainerRecord.from_body(body)
    return {record.app_key: record}


# async: it runs on the operator's event loop, where the loops it wakes wait.
@kopf.on.event(GROUP, VERSION, PLURAL)
async def container_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    controller_of(memo, kwargs).watched(str(event.get("type")), body)


@kopf.daemon(GROUP, VERSION, PLURAL, id="reconcile", cancellation_timeout=30.0)
async def container_daemon(
    body: kopf.Body, stopped: kopf.DaemonStopped, memo: kopf.Memo, **kwargs: Any
) -> None:
    await controller_of(memo, kwargs).container_loop(body, stopped)


def _delete_policy(spec: kopf.Spec, **_: Any) -> bool:
    return bool(spec.get("deletionPolicy", "Delete") == "Delete")


@kopf.on.delete(GROUP, VERSION, PLURAL, id="delete-application", when=_delete_policy)
async def container_deleted(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    try:
        await controller_of(memo, kwargs).finalize_container(body)
    except StepError as error:
        raise temporary(error) from None
