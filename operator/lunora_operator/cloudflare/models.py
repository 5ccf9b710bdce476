"""Typed inputs and results of the Cloudflare layer: what the reconciler asks for and what it gets back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from cloudflare.types.workers.migration_step_param import MigrationStepParam

DEFAULT_REGISTRY = "registry.cloudflare.com"


class InstanceSize(NamedTuple):
    vcpu: float
    memory_mib: int
    disk_mb: int


# The named instance types and their sizes; the API answers with sizes, and wrangler infers the
# name back from them before comparing.
INSTANCE_TYPES: Mapping[str, InstanceSize] = {
    "lite": InstanceSize(0.0625, 256, 2000),
    "basic": InstanceSize(0.25, 1024, 4000),
    "standard-1": InstanceSize(0.5, 4096, 8000),
    "standard-2": InstanceSize(1, 6144, 12000),
    "standard-3": InstanceSize(2, 8192, 16000),
    "standard-4": InstanceSize(4, 12288, 20000),
}


@dataclass(frozen=True)
class CustomInstanceType:
    vcpu: float
    memory_mib: int
    disk_mb: int


InstanceType = str | CustomInstanceType


def infer_instance_type(
    vcpu: float | None, memory_mib: int | None, disk_mb: int | None
) -> InstanceType | None:
    """The named type whose sizes match exactly, else the custom size; None when sizes are missing."""
    if vcpu is None or memory_mib is None or disk_mb is None:
        return None
    for name, size in INSTANCE_TYPES.items():
        if size == (vcpu, memory_mib, disk_mb):
            return name
    return CustomInstanceType(vcpu=vcpu, memory_mib=memory_mib, disk_mb=disk_mb)


def normalise_instance_type(value: InstanceType) -> InstanceType:
    """A custom size equal to a named type compares as that name."""
    if isinstance(value, CustomInstanceType):
        inferred = infer_instance_type(value.vcpu, value.memory_mib, value.disk_mb)
        return value if inferred is None else inferred
    return value


@dataclass(frozen=True)
class Constraints:
    regions: Sequence[str] = ()
    jurisdiction: str | None = None


RolloutKind = Literal["full_auto", "full_manual", "none"]


@dataclass(frozen=True)
class RolloutPolicy:
    """How a configuration change reaches running instances. With neither `step_percentage` nor
    `steps`, wrangler's default applies: one 100% step below 2 max instances, else 10% then 100%.
    Kind "none" changes the application without rolling it out."""

    step_percentage: int | None = None
    steps: Sequence[int] | None = None
    kind: RolloutKind = "full_auto"
    active_grace_period: int | None = None


@dataclass(frozen=True)
class DesiredApplication:
    name: str
    image: str
    instance_type: InstanceType
    max_instances: int
    constraints: Constraints | None = None
    observability_logs: bool = True
    rollout: RolloutPolicy = field(default_factory=RolloutPolicy)


@dataclass(frozen=True)
class Application:
    """A Containers application as observed, normalised for comparison."""

    id: str
    name: str
    version: int
    image: str
    instance_type: InstanceType | None
    max_instances: int | None
    constraints: Constraints
    observability_logs: bool
    active_grace_period: int
    namespace_id: str | None
    active_rollout_id: str | None
    scheduling_policy: str
    running_instances: int | None = None
    """Instances Cloudflare reports running (`health.instances.active`); None when it reports none."""


ROLLOUT_UNDER_WAY = ("pending", "progressing")


@dataclass(frozen=True)
class Rollout:
    """A rollout as observed: `status` is pending, progressing, completed, reverted or replaced."""

    id: str
    status: str
    kind: str
    current_step: int
    total_steps: int
    target_image: str | None

    @property
    def under_way(self) -> bool:
        return self.status in ROLLOUT_UNDER_WAY


@dataclass(frozen=True)
class ApplicationUpdate:
    patched: bool
    rollout_id: str | None
    differences: list[str]
    """One line per changed field, `field: live -> desired`; empty when nothing changed."""
    application: Application
    """The application as Cloudflare has it after the update (looked up again after a write)."""


@dataclass(frozen=True)
class RegistryCredentials:
    registry_host: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class WorkerScript:
    id: str
    etag: str | None
    migration_tag: str | None


@dataclass(frozen=True)
class DurableObjectBinding:
    name: str
    class_name: str


@dataclass(frozen=True)
class MigrationUpload:
    """Durable Object migrations applied with an upload: Cloudflare refuses it unless `old_tag`
    equals the script's current migration tag (None for a script without one)."""

    old_tag: str | None
    new_tag: str
    steps: Sequence[MigrationStepParam]


# Content types Cloudflare accepts for Worker modules, by file extension.
MODULE_CONTENT_TYPES: Mapping[str, str] = {
    ".js": "application/javascript+module",
    ".mjs": "application/javascript+module",
    ".cjs": "application/javascript",
    ".wasm": "application/wasm",
    ".map": "application/source-map",
    ".py": "text/x-python",
    ".txt": "text/plain",
    ".html": "text/plain",
    ".bin": "application/octet-stream",
}


@dataclass(frozen=True)
class WorkerUpload:
    main_module: str
    modules: Mapping[str, bytes]
    compatibility_date: str
    bindings: Sequence[DurableObjectBinding] = ()
    container_classes: Sequence[str] = ()
    """Durable Object classes that get a container (`metadata.containers`)."""
    migrations: MigrationUpload | None = None
    compatibility_flags: Sequence[str] = ()
    observability: bool | None = None
    content_types: Mapping[str, str] = field(default_factory=dict)
    """Per-module content type; by default chosen from the file extension."""

    def content_type(self, module: str) -> str:
        if module in self.content_types:
            return self.content_types[module]
        suffix = module[module.rfind(".") :] if "." in module else ""
        return MODULE_CONTENT_TYPES.get(suffix, "application/javascript+module")
