"""Request bodies checked against the official SDK's parameter types, the API contract.

`pydantic.TypeAdapter` over the SDK's `*Params` TypedDicts checks types (strictly: no "5" for
an int). It drops keys a TypedDict does not declare and validates `Iterable[...]` fields only when
they are iterated, so this module also walks the body against `typing.get_type_hints` to reject
unknown keys, and drains the lazy iterables to surface their errors.

Where the SDK lags the API, the extra keys are allow-listed explicitly (`Extra`) with their own
types, each with the reason.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, NotRequired, Required

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict, is_typeddict

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class BodySchema:
    type: Any
    """An SDK TypedDict (or a Union of them)."""
    extras: Mapping[tuple[str, ...], Mapping[str, Any]] = field(default_factory=dict)
    """Allow-listed keys the SDK type lacks: path of the object (list indexes as "*") -> key -> type."""
    path_params: tuple[str, ...] = ("account_id",)
    """Required keys of the SDK type that travel in the URL, not the body."""
    overrides: Mapping[tuple[str, ...], Any] = field(default_factory=dict)
    """Keys whose SDK type is stricter than the API: path of the key (list indexes as "*") -> type."""


def _dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(body)"


def _pattern(path: Path) -> tuple[str, ...]:
    return tuple("*" if isinstance(part, int) else part for part in path)


def _unwrap(annotation: Any) -> Any:
    """Strips Required / NotRequired / Annotated."""
    while True:
        origin = typing.get_origin(annotation)
        if origin in (Required, NotRequired, typing.Required, typing.NotRequired):
            annotation = typing.get_args(annotation)[0]
        elif origin is typing.Annotated:
            annotation = annotation.__origin__
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _alias(annotation: Any) -> str | None:
    """The wire name of an SDK field declared as Annotated[..., PropertyInfo(alias=...)]."""
    for hint in getattr(annotation, "__metadata__", ()):
        alias = getattr(hint, "alias", None)
        if isinstance(alias, str):
            return alias
    if typing.get_origin(annotation) in (Required, NotRequired, typing.Required, typing.NotRequired):
        return _alias(typing.get_args(annotation)[0])
    return None


@cache
def _fields(typed_dict: Any) -> tuple[dict[str, Any], dict[str, str], frozenset[str]]:
    """(python name -> annotation, wire name -> python name, required python names).
    `__required_keys__` is wrong for the SDK's types: their annotations are strings
    (`from __future__ import annotations`), so `Required[...]` is read from the hints."""
    hints = typing.get_type_hints(typed_dict, include_extras=True)
    wire = {(_alias(hint) or name): name for name, hint in hints.items()}
    total = getattr(typed_dict, "__total__", True)
    required = {
        name
        for name, hint in hints.items()
        if typing.get_origin(hint) in (Required, typing.Required)
        or (total and typing.get_origin(hint) not in (NotRequired, typing.NotRequired))
    }
    return hints, wire, frozenset(required)


def _literal_mismatches(typed_dict: Any, value: Mapping[str, Any]) -> int:
    hints, wire, _ = _fields(typed_dict)
    count = 0
    for key, item in value.items():
        name = wire.get(key)
        if name is None:
            continue
        annotation = _unwrap(hints[name])
        if typing.get_origin(annotation) is Literal and item not in typing.get_args(annotation):
            count += 1
    return count


def _choose_member(members: Sequence[Any], value: Mapping[str, Any]) -> Any:
    """The union member a body means: matching literals (such as `type` or `scheduling_policy`)
    first, then the fewest unknown and missing keys."""

    def score(member: Any) -> tuple[int, int]:
        _, wire, required = _fields(member)
        present = {wire[key] for key in value if key in wire}
        unknown = sum(1 for key in value if key not in wire)
        return _literal_mismatches(member, value), unknown + len(required - present)

    return min(members, key=score)


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is None:
        return False
    # cloudflare._types.SequenceNotStr is a Protocol generic, not a collections.abc class.
    if origin in (list, tuple, set, frozenset) or getattr(origin, "__name__", "") == "SequenceNotStr":
        return True
    return (
        isinstance(origin, type) and issubclass(origin, typing.Iterable) and not issubclass(origin, Mapping)
    )


def _is_mapping(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return isinstance(origin, type) and issubclass(origin, Mapping)


@cache
def _is_structural(annotation: Any) -> bool:
    """True when a TypedDict appears anywhere inside: such types are walked, not handed whole to
    a TypeAdapter (whose union errors list every member and whose iterables are lazy)."""
    annotation = _unwrap(annotation)
    if is_typeddict(annotation):
        return True
    return any(_is_structural(arg) for arg in typing.get_args(annotation) if not isinstance(arg, (str, int)))


@cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


class _Walker:
    """Walks a body against an SDK type: keys against `get_type_hints`, structure by hand, and
    each leaf (scalars, literals, lists of scalars) through a strict TypeAdapter."""

    def __init__(
        self,
        extras: Mapping[tuple[str, ...], Mapping[str, Any]],
        hidden: frozenset[str],
        overrides: Mapping[tuple[str, ...], Any],
    ) -> None:
        self.extras = extras
        self.hidden = hidden
        self.overrides = overrides
        self.problems: list[str] = []

    def walk(self, annotation: Any, value: Any, path: Path) -> None:
        annotation = _unwrap(annotation)
        if not _is_structural(annotation):
            self._leaf(annotation, value, path)
        elif _is_union(annotation):
            self._union(annotation, value, path)
        elif is_typeddict(annotation):
            if isinstance(value, Mapping):
                self._typed_dict(annotation, value, path)
            else:
                self.problems.append(f"{_dotted(path)}: Input should be an object")
        elif _is_sequence(annotation):
            if isinstance(value, list):
                (item_type,) = typing.get_args(annotation)[:1]
                for index, item in enumerate(value):
                    self.walk(item_type, item, (*path, index))
            else:
                self.problems.append(f"{_dotted(path)}: Input should be a list")
        elif _is_mapping(annotation):
            if isinstance(value, Mapping):
                item_type = typing.get_args(annotation)[1]
                for key, item in value.items():
                    self.walk(item_type, item, (*path, key))
            else:
                self.problems.append(f"{_dotted(path)}: Input should be an object")
        else:
            self._leaf(annotation, value, path)

    def _union(self, annotation: Any, value: Any, path: Path) -> None:
        members = [_unwrap(member) for member in typing.get_args(annotation)]
        if value is None and type(None) in members:
            return
        dict_members = [member for member in members if is_typeddict(member)]
        if isinstance(value, Mapping) and dict_members:
            self.walk(_choose_member(dict_members, value), value, path)
            return
        sequences = [member for member in members if _is_sequence(member)]
        if isinstance(value, list) and sequences:
            self.walk(sequences[0], value, path)
            return
        scalars = [member for member in members if not _is_structural(member)]
        if scalars:
            self._leaf(typing.Union[tuple(scalars)], value, path)  # noqa: UP007
        else:
            expected = "an object" if dict_members else "a list"
            self.problems.append(f"{_dotted(path)}: Input should be {expected}")

    def _typed_dict(self, typed_dict: Any, value: Mapping[str, Any], path: Path) -> None:
        hints, wire, required = _fields(typed_dict)
        allowed_extra = self.extras.get(_pattern(path), {})
        present: set[str] = set()
        for key, item in value.items():
            name = wire.get(key)
            override = self.overrides.get((*_pattern(path), key))
            if name is not None:
                present.add(name)
                self.walk(hints[name] if override is None else override, item, (*path, key))
            elif key in allowed_extra:
                self.walk(allowed_extra[key], item, (*path, key))
            else:
                declared = ", ".join(
                    sorted(key for key, name in wire.items() if name not in self.hidden or path)
                )
                self.problems.append(f"{_dotted((*path, key))}: unknown field (the API declares: {declared})")
        by_name = {name: key for key, name in wire.items()}
        for name in sorted(required - present):
            if path or name not in self.hidden:
                self.problems.append(f"{_dotted((*path, by_name[name]))}: Field required")

    def _leaf(self, annotation: Any, value: Any, path: Path) -> None:
        try:
            validated = _adapter(annotation).validate_python(value, strict=True)
        except ValidationError as error:
            self.problems.extend(_messages(error, path, value))
            return
        if isinstance(validated, Iterator) and not isinstance(validated, (str, bytes)):
            try:
                for _item in validated:
                    pass
            except ValidationError as error:
                self.problems.extend(_messages(error, path, value))


def _messages(error: ValidationError, prefix: Path, value: Any) -> list[str]:
    return [
        f"{_dotted((*prefix, *_clean_loc(item['loc'], value)))}: {item['msg']}" for item in error.errors()
    ]


def _is_member_name(part: str) -> bool:
    """pydantic names union members in a location: `list[...]`, `literal[...]`, `str`, …"""
    return (
        part[:1].isupper() or not part.replace("_", "a").isalnum() or part in ("str", "int", "float", "bool")
    )


def _clean_loc(loc: tuple[Any, ...], value: Any) -> Path:
    """The location as keys and indexes of `value`: union member names are dropped."""
    kept: list[str | int] = []
    node = value
    for part in loc:
        if (isinstance(node, Mapping) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        elif isinstance(part, str) and _is_member_name(part):
            continue
        else:
            node = None
        kept.append(part)
    return tuple(kept)


def validate(schema: BodySchema, body: Any) -> list[str]:
    """Problems with `body`, one readable line each naming the field; empty when it is valid."""
    if not isinstance(body, Mapping):
        return ["(body): Input should be a JSON object"]
    walker = _Walker(schema.extras, frozenset(schema.path_params), schema.overrides)
    walker.walk(schema.type, body, ())
    return walker.problems


# --- keys the SDK 5.9.0 types lack but the API takes ---------------------------------------------
# Each is sent by `wrangler deploy` 4.86.0 and accepted by Cloudflare (its users deploy with it).


class DiskSize(TypedDict, total=False):
    size_mb: Required[int]


class ContainerEntry(TypedDict, total=False):
    class_name: Required[str]


class ObservabilityLogs(TypedDict, total=False):
    enabled: bool


class ConfigurationObservability(TypedDict, total=False):
    logs: ObservabilityLogs


class Affinities(TypedDict, total=False):
    colocation: Literal["datacenter"]
    hardware_generation: Literal["highest-overall-performance"]


class WorkerObservabilityLogs(TypedDict, total=False):
    enabled: bool
    invocation_logs: bool
    destinations: list[str]
    head_sampling_rate: float | None
    persist: bool


class WorkerObservability(TypedDict, total=False):
    enabled: bool
    head_sampling_rate: float | None
    logs: WorkerObservabilityLogs | None
    redact_query_string: bool
    traces: dict[str, Any] | None


# wrangler still sends the deprecated names `dev` and `standard` as written (they warn).
InstanceTypeName = Literal[
    "lite", "dev", "basic", "standard", "standard-1", "standard-2", "standard-3", "standard-4"
]
SchedulingPolicy = Literal["default", "moon", "regional", "gpu", "fill_metals"]

# A custom instance size: wrangler sends `vcpu`, `memory_mib` and `disk.size_mb` in place of
# `instance_type` (containerConfigToCreateRequest); the SDK's configuration types only declare
# the named types.
CUSTOM_SIZE_KEYS: Mapping[str, Any] = {"vcpu": float, "memory_mib": int, "disk": DiskSize}
# `constraints.tiers` (default [1, 2]) and `constraints.cities`: wrangler sends them on create and
# on every PATCH; the SDK's constraints declare only `jurisdiction` and `regions`.
CONSTRAINT_KEYS: Mapping[str, Any] = {"tiers": list[int], "cities": list[str]}
# What wrangler PATCHes (its modifyReq: the whole configuration, max_instances, constraints,
# affinities, scheduling_policy, rollout_active_grace_period); the SDK's edit type declares only
# the fields that change without a rollout.
EDIT_KEYS: Mapping[str, Any] = {"scheduling_policy": SchedulingPolicy, "affinities": Affinities}
EDIT_CONFIGURATION_KEYS: Mapping[str, Any] = {
    "image": str,
    "instance_type": InstanceTypeName,
    "observability": ConfigurationObservability,
    **CUSTOM_SIZE_KEYS,
}
INSTANCE_TYPE_OVERRIDES: Mapping[tuple[str, ...], Any] = {
    ("configuration", "instance_type"): InstanceTypeName,
    ("target_configuration", "instance_type"): InstanceTypeName,
}
# `containers: [{class_name}]` marks Durable Object classes as container-enabled; wrangler sends
# it (createWorkerUploadForm), the SDK's script `Metadata` does not declare it.
WORKER_METADATA_KEYS: Mapping[str, Any] = {"containers": list[ContainerEntry]}
# wrangler carries the Worker's `observability` config whole, such as {"logs": {"enabled": true}};
# the SDK requires `enabled` and `logs.invocation_logs`, which wrangler's users leave out.
WORKER_METADATA_OVERRIDES: Mapping[tuple[str, ...], Any] = {("observability",): WorkerObservability}
