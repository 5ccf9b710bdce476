"""What the router needs of one LunoraContainer, read once per change of the resource."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lunora_operator.api.app import LunoraAppSpec
from lunora_operator.api.container import LunoraContainerSpec
from lunora_operator.api.naming import export_name_from_metadata
from lunora_operator.api.resources import LunoraContainer
from lunora_operator.cloudflare.models import INSTANCE_TYPES
from lunora_operator.local import texts

DEFAULT_INSTANCE_TYPE = "lite"
_UNITS = {"s": 1, "m": 60, "h": 3600}


def duration_seconds(value: int | str) -> int:
    """Lunora's durations: whole seconds, or digits and one unit s, m or h."""
    if isinstance(value, int):
        return value
    return int(value[:-1]) * _UNITS[value[-1]]


@dataclass(frozen=True)
class SecretEnv:
    env: str
    secret: str
    key: str


@dataclass(frozen=True)
class ReadyProbe:
    path: str
    """As declared; the request path gets a leading / (Lunora accepts both spellings)."""
    port: int
    status: int

    @property
    def request_path(self) -> str:
        return self.path if self.path.startswith("/") else f"/{self.path}"


@dataclass(frozen=True)
class Size:
    vcpu: float
    memory_mib: int
    disk_mb: int


@dataclass(frozen=True)
class ContainerConfig:
    name: str
    namespace: str
    uid: str
    app: str
    export_name: str
    image: str | None
    """The reference Pods run: `image.registry`, or for a build the one the operator recorded in
    `status.image.ref`; None while a build has none yet."""
    image_source: str
    size: Size
    default_port: int | None = None
    required_ports: tuple[int, ...] = ()
    max_instances: int = texts.DEFAULT_MAX_INSTANCES
    pool_size: int = texts.DEFAULT_POOL_SIZE
    sleep_after: int = texts.DEFAULT_SLEEP_AFTER
    hard_timeout: int | None = None
    env: tuple[tuple[str, str], ...] = ()
    secrets: tuple[SecretEnv, ...] = ()
    secrets_store: tuple[tuple[str, str], ...] = ()
    entrypoint: tuple[str, ...] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    ready_on: tuple[ReadyProbe, ...] = ()
    ping_endpoint: str = texts.DEFAULT_PING_ENDPOINT
    enable_internet: bool = True
    allowed_hosts: tuple[str, ...] | None = None
    denied_hosts: tuple[str, ...] | None = None
    intercept_https: bool = False
    pull_secret: str | None = None

    @property
    def ports_to_wait_for(self) -> tuple[int, ...]:
        """Every `requiredPorts` port, else `defaultPort`, as Cloudflare's start checks them."""
        if self.required_ports:
            return tuple(dict.fromkeys(self.required_ports))
        return (self.default_port,) if self.default_port is not None else ()


def _size(spec: LunoraContainerSpec) -> Size:
    if spec.custom_instance_type is not None:
        custom = spec.custom_instance_type
        return Size(custom.vcpu, custom.memory_mib, custom.disk_mb)
    named = INSTANCE_TYPES[spec.instance_type or DEFAULT_INSTANCE_TYPE]
    return Size(named.vcpu, named.memory_mib, named.disk_mb)


def _image(resource: LunoraContainer) -> tuple[str | None, str]:
    if resource.spec.image.registry is not None:
        return resource.spec.image.registry, "registry"
    status = resource.status
    ref = status.image.ref if status is not None and status.image is not None else None
    return ref, "build"


def container_config(resource: LunoraContainer, app: LunoraAppSpec | None) -> ContainerConfig:
    spec = resource.spec
    image, source = _image(resource)
    default_port = spec.default_port
    return ContainerConfig(
        name=resource.metadata.name,
        namespace=resource.metadata.namespace or "",
        uid=resource.metadata.uid or "",
        app=spec.app,
        export_name=spec.export_name or export_name_from_metadata(resource.metadata.name),
        image=image,
        image_source=source,
        size=_size(spec),
        default_port=default_port,
        required_ports=tuple(spec.required_ports or ()),
        max_instances=spec.max_instances or texts.DEFAULT_MAX_INSTANCES,
        pool_size=spec.max_instances or texts.DEFAULT_POOL_SIZE,
        sleep_after=duration_seconds(spec.sleep_after)
        if spec.sleep_after is not None
        else texts.DEFAULT_SLEEP_AFTER,
        hard_timeout=duration_seconds(spec.hard_timeout) if spec.hard_timeout is not None else None,
        env=tuple((spec.env or {}).items()),
        secrets=tuple(
            SecretEnv(s.name, s.value_from.secret_key_ref.name, s.value_from.secret_key_ref.key)
            for s in spec.secrets or ()
        ),
        secrets_store=tuple((spec.secrets_store or {}).items()),
        entrypoint=tuple(spec.entrypoint) if spec.entrypoint is not None else None,
        labels=dict(spec.labels or {}),
        ready_on=tuple(
            ReadyProbe(p.path, p.port if p.port is not None else default_port or 0, p.status or 200)
            for p in spec.ready_on or ()
        ),
        ping_endpoint=spec.ping_endpoint or texts.DEFAULT_PING_ENDPOINT,
        enable_internet=spec.enable_internet if spec.enable_internet is not None else True,
        allowed_hosts=tuple(spec.allowed_hosts) if spec.allowed_hosts is not None else None,
        denied_hosts=tuple(spec.denied_hosts) if spec.denied_hosts is not None else None,
        intercept_https=bool(spec.intercept_https),
        pull_secret=app.local.pull_secret if app is not None else None,
    )
