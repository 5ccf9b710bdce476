"""The app's LunoraContainers (and the LunoraApp's local settings), as the router's watches see them."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from lunora_operator.api.app import LunoraAppSpec
from lunora_operator.api.resources import LunoraContainer
from lunora_operator.local.config import container_config
from lunora_operator.local.fleet import Fleet

log = logging.getLogger(__name__)


class Catalog:
    """Feeds the fleet one ContainerConfig per LunoraContainer whose `spec.app` is this app."""

    def __init__(self, fleet: Fleet, app: str) -> None:
        self.fleet = fleet
        self.app = app
        self.app_spec: LunoraAppSpec | None = None
        self._resources: dict[str, LunoraContainer] = {}

    def on_apps(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.on_app_event("ADDED", item)

    def on_app_event(self, kind: str, item: dict[str, Any]) -> None:
        if (item.get("metadata") or {}).get("name") != self.app:
            return
        if kind == "DELETED":
            self.app_spec = None
        else:
            try:
                self.app_spec = LunoraAppSpec.model_validate(item.get("spec") or {})
            except ValidationError as error:
                log.warning("LunoraApp %s cannot be read (%s); keeping what was read before", self.app, error)
                return
        for resource in self._resources.values():
            self.fleet.set_container(container_config(resource, self.app_spec))

    def on_containers(self, items: list[dict[str, Any]]) -> None:
        names = set()
        for item in items:
            self.on_container_event("ADDED", item)
            names.add((item.get("metadata") or {}).get("name"))
        for gone in set(self._resources) - names:
            self._forget(gone)

    def on_container_event(self, kind: str, item: dict[str, Any]) -> None:
        name = str((item.get("metadata") or {}).get("name"))
        if kind == "DELETED" or (item.get("spec") or {}).get("app") != self.app:
            self._forget(name)
            return
        try:
            resource = LunoraContainer.model_validate(item)
        except ValidationError as error:
            log.warning("LunoraContainer %s cannot be read (%s); keeping what was read before", name, error)
            return
        self._resources[name] = resource
        self.fleet.set_container(container_config(resource, self.app_spec))

    def _forget(self, name: str) -> None:
        if self._resources.pop(name, None) is not None:
            self.fleet.remove_container(name)
