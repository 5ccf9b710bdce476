"""What one fake Cloudflare account holds: Containers applications and their rollouts, Worker
scripts with their versions and secrets, Durable Object namespaces, the images its managed
registry holds, and the account's limits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def new_hex_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class AccountLimits:
    """What `GET /containers/me` reports and creates are held to: one instance's size
    (`SURPASSED_BASE_LIMITS`) and all applications at their `max_instances` together
    (`SURPASSED_TOTAL_LIMITS`). The defaults are Cloudflare's for Workers Paid: 4 vCPU, 12 GiB and
    20 GB per instance; 1,500 vCPU, 6 TiB and 30 TB concurrently."""

    vcpu_per_deployment: float = 4
    memory_mib_per_deployment: int = 12288
    disk_mb_per_deployment: int = 20000
    total_vcpu: float = 1500
    total_memory_mib: int = 6 * 1024 * 1024
    total_disk_mb: int = 30_000_000

    def api(self) -> dict[str, Any]:
        return {
            "vcpu_per_deployment": self.vcpu_per_deployment,
            "memory_mib_per_deployment": self.memory_mib_per_deployment,
            "disk_mb_per_deployment": self.disk_mb_per_deployment,
            "total_vcpu": self.total_vcpu,
            "total_memory_mib": self.total_memory_mib,
            "total_disk_mb": self.total_disk_mb,
        }


@dataclass(frozen=True)
class Module:
    """One uploaded module: the multipart part it came in (wrangler names the part after the
    module; the SDK names every part `files`), its content type and content."""

    part: str
    content_type: str
    content: bytes


@dataclass
class Version:
    """An uploaded version of a Worker, as `GET …/versions/{id}` shows it."""

    id: str
    number: int
    bindings: list[dict[str, Any]]
    """The upload's bindings; a Durable Object binding carries its `namespace_id`."""
    created_on: str
    source: str
    """Who uploaded it: `wrangler` (by its User-Agent) or `api`."""

    def api(self, script: Script) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "metadata": {
                "created_on": self.created_on,
                "modified_on": self.created_on,
                "source": self.source,
            },
            "resources": {
                "bindings": self.bindings,
                "script": {"etag": script.etag, "handlers": ["fetch"], "last_deployed_from": self.source},
                "script_runtime": {
                    "compatibility_date": script.metadata.get("compatibility_date"),
                    "compatibility_flags": script.metadata.get("compatibility_flags", []),
                    "usage_model": "standard",
                },
            },
        }


@dataclass
class Script:
    name: str
    metadata: dict[str, Any]
    modules: dict[str, Module]
    """Module name -> the part it came in."""
    migration_tag: str | None
    etag: str
    created_on: str
    modified_on: str
    secrets: dict[str, str] = field(default_factory=dict)
    versions: list[Version] = field(default_factory=list)
    subdomain: dict[str, bool] = field(default_factory=lambda: {"enabled": False, "previews_enabled": False})

    def api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.name,
            "etag": self.etag,
            "created_on": self.created_on,
            "modified_on": self.modified_on,
            "has_modules": True,
            "handlers": ["fetch"],
            "compatibility_date": self.metadata.get("compatibility_date"),
            "compatibility_flags": self.metadata.get("compatibility_flags", []),
            "usage_model": "standard",
            "last_deployed_from": self.versions[-1].source if self.versions else "api",
        }
        if self.migration_tag is not None:
            data["migration_tag"] = self.migration_tag
        return data

    @property
    def container_classes(self) -> set[str]:
        return {entry["class_name"] for entry in self.metadata.get("containers") or []}

    @property
    def latest(self) -> Version:
        return self.versions[-1]


@dataclass
class Account:
    id: str
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    rollouts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    scripts: dict[str, Script] = field(default_factory=dict)
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    managed_images: set[str] = field(default_factory=set)
    """References held by Cloudflare's managed registry (registry.cloudflare.com/<account>/…)."""
    previews: set[str] = field(default_factory=set)
    """Namespaces of preview Workers: listed with their parent's script name, yet not its own."""
    deleting: dict[str, float] = field(default_factory=dict)
    """Application id -> when (on the fake's clock) its deletion ends."""
    rollout_started: dict[str, float] = field(default_factory=dict)
    """Rollout id -> when (on the fake's clock) it started progressing by itself."""

    def own_namespaces(self) -> dict[str, dict[str, Any]]:
        """The namespaces scripts own (a preview Worker's are not its parent's)."""
        return {ns_id: ns for ns_id, ns in self.namespaces.items() if ns_id not in self.previews}

    def namespace_for(self, script: str, class_name: str) -> dict[str, Any] | None:
        for namespace in self.own_namespaces().values():
            if namespace["script"] == script and namespace["class"] == class_name:
                return namespace
        return None

    def script_classes(self, script: str) -> set[str]:
        return {ns["class"] for ns in self.own_namespaces().values() if ns["script"] == script}

    def applications_on(self, namespace_id: str) -> list[dict[str, Any]]:
        return [
            app
            for app in self.applications.values()
            if (app.get("durable_objects") or {}).get("namespace_id") == namespace_id
        ]
