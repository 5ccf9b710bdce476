"""Which instance a connection comes from, and that instance's rules.

A client is known by its IP only, and IPs are reused: the directory maps an IP to the Pod that
holds it now (from a watch of the app's instance Pods) and keeps every rule by the Pod's UID. A
Pod that finished or is being deleted holds no IP; an IP two live Pods claim (the watch has not
caught up yet) resolves to nobody. Runtime rule changes belong to a UID and go with it: a
restarted instance is a new Pod, with a new UID, and starts from its declared rules again. They
are also written onto the Pod (`annotations.RUNTIME_RULES`), so a restarted proxy reads them back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lunora_operator.local.egress import rules as r
from lunora_operator.local.egress.annotations import (
    CONTAINER_LABEL,
    AnnotationError,
    Overrides,
    rules_from_annotations,
    runtime_from_annotations,
)

FINISHED_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True)
class Instance:
    uid: str
    namespace: str
    name: str
    container: str
    ip: str | None
    live: bool
    declared: r.EgressRules | None
    """None when the Pod's egress annotations cannot be read (`annotation_error` says why)."""
    annotation_error: str | None = None
    runtime: Overrides | None = None
    """The runtime changes recorded on the Pod (None: never changed)."""

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}"


def instance_from_pod(pod: Mapping[str, Any]) -> Instance:
    """An instance from a Pod as the API serves it (camelCase JSON)."""
    metadata = pod.get("metadata") or {}
    status = pod.get("status") or {}
    annotations = metadata.get("annotations") or {}
    runtime: Overrides | None = None
    try:
        declared: r.EgressRules | None = rules_from_annotations(annotations)
        runtime = runtime_from_annotations(annotations)
        error = None
    except AnnotationError as failure:
        declared, error = None, str(failure)
    return Instance(
        uid=metadata["uid"],
        namespace=metadata.get("namespace", ""),
        name=metadata.get("name", ""),
        container=(metadata.get("labels") or {}).get(CONTAINER_LABEL, ""),
        ip=status.get("podIP") or None,
        live=metadata.get("deletionTimestamp") is None and status.get("phase") not in FINISHED_PHASES,
        declared=declared,
        annotation_error=error,
        runtime=runtime,
    )


class UnknownInstance(LookupError):
    pass


class InstanceDirectory:
    def __init__(self) -> None:
        self._instances: dict[str, Instance] = {}
        self._overrides: dict[str, r.InstanceRules] = {}
        self._changed = asyncio.Event()
        self._on_gone: list[Callable[[str], None]] = []

    def on_gone(self, callback: Callable[[str], None]) -> None:
        """Calls `callback(uid)` when an instance's Pod is gone (deleted, or missing from a relist)."""
        self._on_gone.append(callback)

    # Updates, from the Pod watch.

    def replace_all(self, pods: Iterable[Mapping[str, Any]]) -> None:
        instances = {i.uid: i for i in map(instance_from_pod, pods)}
        gone = [uid for uid in self._instances if uid not in instances]
        self._instances = instances
        self._overrides = {uid: rules for uid, rules in self._overrides.items() if uid in instances}
        self._notify()
        for uid in gone:
            self._gone(uid)

    def apply(self, event_type: str, pod: Mapping[str, Any]) -> None:
        instance = instance_from_pod(pod)
        if event_type == "DELETED":
            self._instances.pop(instance.uid, None)
            self._overrides.pop(instance.uid, None)
        else:
            self._instances[instance.uid] = instance
        self._notify()
        if event_type == "DELETED":
            self._gone(instance.uid)

    def _gone(self, uid: str) -> None:
        for callback in self._on_gone:
            callback(uid)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # Queries.

    def resolve(self, ip: str) -> Instance | None:
        holders = [i for i in self._instances.values() if i.live and i.ip == ip]
        return holders[0] if len(holders) == 1 else None

    async def wait_resolve(self, ip: str, wait: float) -> Instance | None:
        """The instance at `ip`, waiting up to `wait` seconds for the watch to report it (a
        Pod's first request can come before the watch saw its address)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (instance := self.resolve(ip)) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return None
        return instance

    def instance(self, uid: str) -> Instance:
        try:
            return self._instances[uid]
        except KeyError:
            raise UnknownInstance(f"no instance Pod with uid {uid}") from None

    def instances(self) -> list[Instance]:
        return sorted(self._instances.values(), key=lambda i: (i.namespace, i.name, i.uid))

    def rules(self, uid: str) -> r.InstanceRules | None:
        """The instance's rules with its runtime changes; None when its annotations are unreadable."""
        instance = self.instance(uid)
        if instance.declared is None:
            return None
        override = self._overrides.get(uid)
        if override is not None:  # this proxy's own change, ahead of the watch
            return r.InstanceRules(instance.declared, override.allowed_override, override.denied_override)
        if instance.runtime is not None:  # changed before this proxy started
            return r.InstanceRules(instance.declared, *instance.runtime)
        return r.InstanceRules(instance.declared)

    def planned(self, uid: str, change: RuleChange) -> r.InstanceRules:
        """The instance's rules once `change` is made; nothing is changed yet."""
        current = self.rules(uid)
        if current is None:
            raise UnknownInstance(
                f"instance {uid} has unreadable egress annotations: {self.instance(uid).annotation_error}"
            )
        return change.apply(current)

    def record(self, uid: str, rules: r.InstanceRules) -> None:
        self.instance(uid)
        self._overrides[uid] = rules

    def change(self, uid: str, change: RuleChange) -> r.InstanceRules:
        changed = self.planned(uid, change)
        self.record(uid, changed)
        return changed


@dataclass(frozen=True)
class RuleChange:
    """One runtime change, as the router's egress endpoints name them."""

    op: str
    host: str | None = None
    hosts: tuple[str, ...] | None = None

    SINGLE = ("allow", "deny", "remove_allowed", "remove_denied")
    LIST = ("set_allowed", "set_denied")

    def apply(self, rules: r.InstanceRules) -> r.InstanceRules:
        match self.op:
            case "allow":
                return r.allow_host(rules, self._host())
            case "deny":
                return r.deny_host(rules, self._host())
            case "remove_allowed":
                return r.remove_allowed_host(rules, self._host())
            case "remove_denied":
                return r.remove_denied_host(rules, self._host())
            case "set_allowed":
                return r.set_allowed_hosts(rules, self._hosts())
            case "set_denied":
                return r.set_denied_hosts(rules, self._hosts())
        raise ValueError(f"unknown egress change {self.op!r}; one of {', '.join(self.SINGLE + self.LIST)}")

    def _host(self) -> str:
        assert self.host is not None
        return self.host

    def _hosts(self) -> tuple[str, ...]:
        assert self.hosts is not None
        return self.hosts


def parse_change(op: str, body: Any) -> RuleChange:
    """A change from the control API's JSON body; ValueError names the field and the fix."""
    if op in RuleChange.SINGLE:
        host = body.get("host") if isinstance(body, dict) else None
        if not isinstance(host, str) or not host.strip():
            raise ValueError(f'{op} needs a JSON body {{"host": "<host name or glob>"}}')
        return RuleChange(op, host=host.strip())
    if op in RuleChange.LIST:
        hosts = body.get("hosts") if isinstance(body, dict) else None
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h.strip() for h in hosts):
            raise ValueError(
                f'{op} needs a JSON body {{"hosts": ["<host name or glob>", ...]}} of non-empty strings'
            )
        return RuleChange(op, hosts=tuple(h.strip() for h in hosts))
    raise ValueError(f"unknown egress change {op!r}; one of {', '.join(RuleChange.SINGLE + RuleChange.LIST)}")
