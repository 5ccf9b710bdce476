"""Every instance of every container of one app, kept in step with the watched Pods."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable

from lunora_operator.local import names
from lunora_operator.local.capacity import Capacity
from lunora_operator.local.config import ContainerConfig
from lunora_operator.local.context import Context
from lunora_operator.local.errors import UnknownContainer
from lunora_operator.local.instance import Instance
from lunora_operator.local.pod_state import PodState, pod_state

log = logging.getLogger(__name__)


class Fleet:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.containers: dict[str, ContainerConfig] = {}
        self._by_label: dict[str, str] = {}
        self._by_export: dict[str, str] = {}
        self._capacity: dict[str, Capacity] = {}
        self._instances: dict[tuple[str, str], Instance] = {}
        self._by_key: dict[tuple[str, str], Instance] = {}

    # --- containers ----------------------------------------------------------------------------

    def set_container(self, config: ContainerConfig) -> None:
        self.containers[config.name] = config
        self._by_label[names.label_value(config.name)] = config.name
        self._by_export = {c.export_name: c.name for c in self.containers.values()}
        capacity = self._capacity.get(config.name)
        if capacity is None:
            self._capacity[config.name] = Capacity(config.max_instances, self.ctx.clock.monotonic)
        else:
            capacity.limit = config.max_instances
        for (container, _), instance in self._instances.items():
            if container == config.name:
                instance.config = config

    def remove_container(self, name: str) -> None:
        """The LunoraContainer is gone; the garbage collector removes its Pods and Secrets."""
        self.containers.pop(name, None)
        self._by_label.pop(names.label_value(name), None)
        self._by_export = {c.export_name: c.name for c in self.containers.values()}

    def canonical(self, container: str) -> str:
        """The LunoraContainer's name for `container`, its name or its export name (as Lunora's
        `ctx.containers.<exportName>` and the Python client name it)."""
        if container in self.containers:
            return container
        return self._by_export.get(container, container)

    def config(self, container: str) -> ContainerConfig:
        config = self.containers.get(self.canonical(container))
        if config is None:
            known = ", ".join(sorted(self.containers)) or "none"
            raise UnknownContainer(f'this app has no LunoraContainer "{container}" (it has: {known})')
        return config

    def pool_instance(self, container: str) -> str:
        """`.any()` / `.pool()`: one of pool-0 … pool-(maxInstances or 3)-1, uniformly at random."""
        return names.pool_instance(random.randrange(self.config(container).pool_size))

    # --- instances -----------------------------------------------------------------------------

    def instance(self, container: str, instance_id: str) -> Instance:
        container = self.canonical(container)
        found = self._instances.get((container, instance_id))
        if found is not None:
            return found
        config = self.config(container)
        created = Instance(self.ctx, config, instance_id, self._capacity[container])
        self._instances[(container, instance_id)] = created
        self._by_key[(container, created.key)] = created
        return created

    def instances(self) -> Iterable[Instance]:
        return self._instances.values()

    def running(self, container: str) -> int:
        capacity = self._capacity.get(container)
        return capacity.used if capacity is not None else 0

    # --- Pods, as the watch reports them -------------------------------------------------------

    def _instance_of(self, pod: PodState) -> Instance | None:
        container = self._by_label.get(pod.container)
        if container is None:
            return None
        return self._by_key.get((container, pod.instance_key)) or self.instance(container, pod.instance_id)

    def on_pods(self, items: list[dict[str, object]]) -> None:
        """A fresh list: every Pod there is (newest runs first), and nothing else."""
        states = [s for s in (pod_state(item) for item in items) if s is not None]
        seen = {s.name for s in states}
        for state in sorted(states, key=lambda s: s.run, reverse=True):
            self._observe(state)
        for instance in list(self._instances.values()):
            if instance.pod is not None and instance.pod.uid and instance.pod.name not in seen:
                instance.gone(instance.pod.name)

    def on_pod_event(self, kind: str, item: dict[str, object]) -> None:
        state = pod_state(item)
        if state is None:
            return
        if kind == "DELETED":
            instance = self._instance_of(state)
            if instance is not None:
                instance.gone(state.name)
        else:
            self._observe(state)

    def _observe(self, state: PodState) -> None:
        instance = self._instance_of(state)
        if instance is None:
            log.debug("Pod %s belongs to no known container", state.name)
            return
        instance.observe(state)
