"""A scripted stand-in for Kubernetes and the Pod network, for driving instances on a fake clock.

Each Pod the router creates plays a `Script`: it runs after `start_delay`, its ports listen after
their delays, its `readyOn` paths answer after theirs, and it may exit or never start. Pod
changes reach the fleet as the watch would deliver them: as API objects.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from lunora_operator.local.backend import PodExists
from lunora_operator.local.config import ContainerConfig, Size
from lunora_operator.local.context import Context
from lunora_operator.local.fleet import Fleet
from lunora_operator.local.override import StartOverride
from lunora_operator.local.pod_spec import PodSettings
from lunora_operator.local.settings import Budgets
from lunora_operator.local.texts import NOT_LISTENING

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SIGTERM_EXIT, SIGKILL_EXIT = 143, 137


class FakeClock:
    """The loop's (fake) time, and a wall clock that moves with it."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    def wall(self) -> datetime:
        return EPOCH + timedelta(seconds=self.monotonic())


@dataclass
class Script:
    start_delay: float = 0.5
    """Seconds from create until the process runs (None: never)."""
    never_starts: bool = False
    exit_after: float | None = None
    """Seconds after running until the process exits with `exit_code`."""
    exit_code: int = 1
    waiting: tuple[str, str] | None = None
    """(reason, message) the kubelet reports instead of starting: a missing Secret, a bad image."""
    ports: dict[int, float | None] = field(default_factory=dict)
    """Port -> seconds after running until it listens (None: never). Unlisted ports never listen."""
    ready: dict[str, tuple[float, int]] = field(default_factory=dict)
    """readyOn path -> (seconds after running, status then); before it, 503."""
    ignores_sigterm: bool = False
    waiting_for: float | None = None
    """With `waiting`: seconds until the kubelet's retry succeeds and the process runs."""
    waiting_pods: int | None = None
    """With `waiting` or `helper_waiting`: how many of the instance's Pods see it (None: all);
    later Pods start normally."""
    helper_waiting: tuple[str, str] | None = None
    """(reason, message) the kubelet reports for the exec helper's init container, which never runs."""


@dataclass
class FakePod:
    obj: dict[str, Any]
    script: Script
    ip: str
    running_since: float | None = None


def config(name: str = "web", **overrides: Any) -> ContainerConfig:
    values: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "uid": "uid-" + name,
        "app": "demo",
        "export_name": name,
        "image": "registry.local/web:1",
        "image_source": "registry",
        "size": Size(0.0625, 256, 2000),
        "default_port": 8080,
    }
    values.update(overrides)
    return ContainerConfig(**values)


class FakeKube:
    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script(ports={8080: 0.1})
        self.scripts: dict[str, Script] = {}
        """Per instance id, overriding `script`."""
        self.fleet: Fleet | None = None
        self.pods: dict[str, FakePod] = {}
        self.created: list[dict[str, Any]] = []
        self.deleted: list[tuple[str, int | None]] = []
        self.deleted_at: list[float] = []
        self.overrides: dict[str, StartOverride] = {}
        self.events: list[tuple[str, str, bool]] = []
        self.taken_names: set[str] = set()
        self.pods_made: dict[str, int] = {}
        self.create_delays: list[float] = []
        """Seconds each next create_pod call takes, in order (then none)."""
        self._ips = itertools.count(2)
        self._uids = itertools.count(1)

    # --- the watch -----------------------------------------------------------------------------

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _later(self, delay: float, action: Any, *args: Any) -> None:
        asyncio.get_running_loop().call_later(delay, action, *args)

    def _emit(self, kind: str, pod: FakePod) -> None:
        assert self.fleet is not None
        self.fleet.on_pod_event(kind, copy.deepcopy(pod.obj))

    def _set(self, name: str, status: dict[str, Any], kind: str = "MODIFIED") -> None:
        pod = self.pods.get(name)
        if pod is None:
            return
        pod.obj["status"] = status
        self._emit(kind, pod)

    def _run(self, name: str) -> None:
        pod = self.pods.get(name)
        if pod is None or pod.obj["metadata"].get("deletionTimestamp"):
            return
        pod.running_since = self._now()
        self._set(
            name, {"phase": "Running", "podIP": pod.ip, "containerStatuses": [{"state": {"running": {}}}]}
        )
        if pod.script.exit_after is not None:
            self._later(pod.script.exit_after, self._exit, name, pod.script.exit_code)

    def _exit(self, name: str, code: int) -> None:
        pod = self.pods.get(name)
        if pod is None or "terminated" in str(pod.obj.get("status")):
            return
        phase = "Succeeded" if code == 0 else "Failed"
        self._set(
            name,
            {
                "phase": phase,
                "podIP": pod.ip,
                "containerStatuses": [{"state": {"terminated": {"exitCode": code}}}],
            },
        )

    def _remove(self, name: str) -> None:
        pod = self.pods.pop(name, None)
        if pod is not None:
            self._emit("DELETED", pod)

    # --- InstanceBackend -----------------------------------------------------------------------

    async def create_pod(self, manifest: dict[str, Any]) -> None:
        if self.create_delays:
            await asyncio.sleep(self.create_delays.pop(0))
        name = manifest["metadata"]["name"]
        if name in self.pods or name in self.taken_names:
            raise PodExists(name)
        instance_id = manifest["metadata"]["annotations"]["lunora.sh/instance-id"]
        script = self.scripts.get(instance_id, self.script)
        self.pods_made[instance_id] = made = self.pods_made.get(instance_id, 0) + 1
        if script.waiting_pods is not None and made > script.waiting_pods:
            script = replace(script, waiting=None, helper_waiting=None)
        obj = copy.deepcopy(manifest)
        obj["metadata"]["uid"] = f"pod-uid-{next(self._uids)}"
        obj["status"] = {"phase": "Pending"}
        pod = FakePod(obj, script, f"10.0.0.{next(self._ips)}")
        self.pods[name] = pod
        self.created.append(manifest)
        self._later(0, self._emit, "ADDED", pod)
        if script.helper_waiting is not None:
            reason, message = script.helper_waiting
            status = {
                "phase": "Pending",
                "initContainerStatuses": [
                    {"name": "lunora-exec", "state": {"waiting": {"reason": reason, "message": message}}}
                ],
                "containerStatuses": [{"state": {"waiting": {"reason": "PodInitializing"}}}],
            }
            self._later(0.2, self._set, name, status)
        elif script.waiting is not None:
            reason, message = script.waiting
            status = {
                "phase": "Pending",
                "containerStatuses": [{"state": {"waiting": {"reason": reason, "message": message}}}],
            }
            self._later(0.2, self._set, name, status)
            if script.waiting_for is not None:
                self._later(script.waiting_for, self._run, name)
        elif not script.never_starts:
            self._later(script.start_delay, self._run, name)

    async def delete_pod(self, name: str, grace_seconds: int | None) -> None:
        self.deleted.append((name, grace_seconds))
        self.deleted_at.append(self._now())
        pod = self.pods.get(name)
        if pod is None:
            return
        pod.obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        self._emit("MODIFIED", pod)
        kill_after = 0.05 if grace_seconds == 0 or not pod.script.ignores_sigterm else 5.0
        code = SIGKILL_EXIT if grace_seconds == 0 or pod.script.ignores_sigterm else SIGTERM_EXIT
        if pod.running_since is not None:
            self._later(kill_after, self._exit, name, code)
        self._later(kill_after + 0.05, self._remove, name)

    async def load_override(self, config: ContainerConfig, instance_id: str) -> StartOverride | None:
        return self.overrides.get(instance_id)

    async def save_override(self, config: ContainerConfig, instance_id: str, override: StartOverride) -> None:
        self.overrides[instance_id] = override

    async def delete_override(self, config: ContainerConfig, instance_id: str) -> None:
        self.overrides.pop(instance_id, None)

    def _pod_at(self, ip: str) -> FakePod | None:
        return next((p for p in self.pods.values() if p.ip == ip), None)

    async def probe_port(self, ip: str, port: int, ping_endpoint: str, limit: float) -> str | None:
        pod = self._pod_at(ip)
        delay = pod.script.ports.get(port) if pod is not None else None
        if (
            pod is None
            or pod.running_since is None
            or delay is None
            or self._now() < pod.running_since + delay
        ):
            return NOT_LISTENING.format(port=port)
        return None

    async def probe_ready(self, ip: str, port: int, path: str, limit: float) -> int | None:
        pod = self._pod_at(ip)
        if pod is None or pod.running_since is None:
            return None
        after, status = pod.script.ready.get(path, (float("inf"), 200))
        return status if self._now() >= pod.running_since + after else 503

    def record(self, config: ContainerConfig, reason: str, message: str, warning: bool = False) -> None:
        self.events.append((reason, message, warning))

    # --- helpers for tests ---------------------------------------------------------------------

    def live_pods(self) -> list[str]:
        return sorted(n for n, p in self.pods.items() if not p.obj["metadata"].get("deletionTimestamp"))


def fleet_with(
    kube: FakeKube,
    *configs: ContainerConfig,
    budgets: Budgets | None = None,
    pod_settings: PodSettings | None = None,
) -> Fleet:
    fleet = Fleet(Context(kube, FakeClock(), budgets or Budgets(), pod_settings or PodSettings()))
    kube.fleet = fleet
    for item in configs or (config(),):
        fleet.set_container(item)
    return fleet
