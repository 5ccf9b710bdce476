"""The `Inventory` the reconcilers read, over kopf's indexes (populated from the watch before any
daemon or handler runs, so a first render never mistakes an unseen container for a removed one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lunora_operator.reconcile.local_instances import InstancePod
from lunora_operator.reconcile.records import AppKey, AppRecord, ContainerRecord


class KopfInventory:
    def __init__(self) -> None:
        self._containers: Mapping[Any, Any] = {}
        self._apps: Mapping[Any, Any] = {}

    def bind(self, containers: Mapping[Any, Any], apps: Mapping[Any, Any]) -> None:
        """kopf passes its index objects to every handler; they are live, so binding once is enough."""
        self._containers = containers
        self._apps = apps

    def app(self, key: AppKey) -> AppRecord | None:
        store = self._apps.get(key)
        return next(iter(store), None) if store is not None else None

    def containers(self, key: AppKey) -> Sequence[ContainerRecord]:
        store = self._containers.get(key)
        return list(store) if store is not None else []


class KopfInstancePods:
    """The instance Pods the operator watches, by the uid of the LunoraContainer owning them."""

    def __init__(self) -> None:
        self._pods: Mapping[Any, Any] = {}

    def bind(self, pods: Mapping[Any, Any]) -> None:
        self._pods = pods

    def of(self, container_uid: str) -> Sequence[InstancePod]:
        store = self._pods.get(container_uid)
        return list(store) if store is not None else []
