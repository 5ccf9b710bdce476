"""LunoraContainer: an index by app, a reconcile loop per object, a finalizer for Delete."""

from __future__ import annotations

from typing import Any

import kopf

from lunora_operator.api.base import GROUP, VERSION
from lunora_operator.controller import Controller
from lunora_operator.handlers.inventory import KopfInventory
from lunora_operator.reconcile.errors import StepError
from lunora_operator.reconcile.records import ContainerRecord

PLURAL = "lunoracontainers"


def _controller(memo: kopf.Memo, indexes: dict[str, Any]) -> Controller:
    """The controller, with kopf's index objects (passed as handler kwargs) bound to it."""
    controller: Controller = memo["controller"]
    inventory = controller.inventory
    if isinstance(inventory, KopfInventory):
        inventory.bind(indexes["container_index"], indexes["app_index"])
    return controller


@kopf.index(GROUP, VERSION, PLURAL)
def container_index(body: kopf.Body, **_: Any) -> dict[Any, ContainerRecord]:
    record = ContainerRecord.from_body(body)
    return {record.app_key: record}


@kopf.on.event(GROUP, VERSION, PLURAL)
def container_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    controller = _controller(memo, kwargs)
    metadata = body.get("metadata") or {}
    uid = str(metadata.get("uid"))
    if event.get("type") == "DELETED":
        controller.forget(uid)
        # The app renders without it (an orphan keeps its entries); nothing waits for this.
        record = ContainerRecord.from_body(body)
        controller.background(controller.coordinator(record.app_key).request())
        return
    annotations = metadata.get("annotations") or {}
    controller.notice(
        uid, int(metadata.get("generation") or 0), annotations.get("reconcile.lunora.sh/requestedAt")
    )


@kopf.daemon(GROUP, VERSION, PLURAL, id="reconcile", cancellation_timeout=30.0)
async def container_daemon(
    body: kopf.Body,
    stopped: kopf.DaemonStopped,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    await _controller(memo, kwargs).container_loop(body, stopped)


def _delete_policy(spec: kopf.Spec, **_: Any) -> bool:
    return bool(spec.get("deletionPolicy", "Delete") == "Delete")


@kopf.on.delete(GROUP, VERSION, PLURAL, id="delete-application", when=_delete_policy)
async def container_deleted(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    try:
        await _controller(memo, kwargs).finalize_container(body)
    except StepError as error:
        raise kopf.TemporaryError(f"{error.reason}: {error.message}", delay=error.delay) from None
