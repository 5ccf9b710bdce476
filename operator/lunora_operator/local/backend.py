"""The side effects an instance needs, behind one small interface: Pods and the override Secret
in Kubernetes, probes over the Pod network, Events. Unit tests give the state machine a fake."""

from __future__ import annotations

from typing import Any, Protocol

from lunora_operator.local.config import ContainerConfig
from lunora_operator.local.override import StartOverride


class PodExists(Exception):
    """A Pod of that name exists already (a run number taken by an earlier router)."""


class InstanceBackend(Protocol):
    async def create_pod(self, manifest: dict[str, Any]) -> None:
        """Creates the Pod; raises PodExists when the name is taken."""

    async def delete_pod(self, name: str, grace_seconds: int | None) -> None:
        """Deletes the Pod (None: its own grace period); a Pod already gone is fine."""

    async def load_override(self, config: ContainerConfig, instance_id: str) -> StartOverride | None: ...

    async def save_override(
        self, config: ContainerConfig, instance_id: str, override: StartOverride
    ) -> None: ...

    async def delete_override(self, config: ContainerConfig, instance_id: str) -> None: ...

    async def probe_port(self, ip: str, port: int, ping_endpoint: str, limit: float) -> str | None:
        """Asks the port as Cloudflare's port check does; None when anything answered within `limit` seconds, else why not."""

    async def probe_ready(self, ip: str, port: int, path: str, limit: float) -> int | None:
        """GET `path`; the status, or None when nothing answered within `limit` seconds."""

    def record(self, config: ContainerConfig, reason: str, message: str, warning: bool = False) -> None:
        """Reports what happened to an instance (a Kubernetes Event on the LunoraContainer)."""
