"""What the handlers of both kinds share."""

from __future__ import annotations

from typing import Any

import kopf

from lunora_operator.controller import Controller
from lunora_operator.handlers.inventory import KopfInstancePods, KopfInventory
from lunora_operator.reconcile.errors import StepError


def controller_of(memo: kopf.Memo, indexes: dict[str, Any]) -> Controller:
    """The controller, with kopf's index objects (passed as handler kwargs) bound to it."""
    controller: Controller = memo["controller"]
    inventory = controller.inventory
    if isinstance(inventory, KopfInventory):
        inventory.bind(indexes["container_index"], indexes["app_index"])
    if isinstance(controller.instance_pods, KopfInstancePods) and "instance_pod_index" in indexes:
        controller.instance_pods.bind(indexes["instance_pod_index"])
    return controller


def temporary(error: StepError) -> kopf.TemporaryError:
    """A finalizer that cannot finish yet: kopf keeps it and calls again after the delay."""
    return kopf.TemporaryError(f"{error.reason}: {error.message}", delay=error.delay)
