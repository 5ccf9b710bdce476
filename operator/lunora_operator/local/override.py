"""The per-instance `start()` override: what an explicit start chose that every later start of the
instance reuses, until `destroy()` drops it.

As in Lunora, `envVars` replace the declared `env` and `secrets` wholesale (`{}` starts an instance
with no credentials), the override outlives the run it was given for (a restart after sleepAfter,
a crash or the hard timeout boots with it), and a start asking for other options while the
instance runs or starts is refused with CONFLICT. Its values live in a Secret the Pod reads by
secretKeyRef, never in labels or annotations.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
META_KEY = "override"
ENV_KEY_PREFIX = "env."


class BadStartOptions(ValueError):
    """A start body that is not what `start()` takes; the text names the field."""


@dataclass(frozen=True)
class StartOverride:
    env_vars: Mapping[str, str] | None = None
    entrypoint: tuple[str, ...] | None = None
    labels: Mapping[str, str] | None = None
    enable_internet: bool | None = None

    @property
    def empty(self) -> bool:
        return self == StartOverride()

    def over(self, persisted: StartOverride | None) -> StartOverride:
        """These options, each falling back to the persisted one when not given."""
        base = persisted or StartOverride()
        return StartOverride(
            env_vars=self.env_vars if self.env_vars is not None else base.env_vars,
            entrypoint=self.entrypoint if self.entrypoint is not None else base.entrypoint,
            labels=self.labels if self.labels is not None else base.labels,
            enable_internet=self.enable_internet
            if self.enable_internet is not None
            else base.enable_internet,
        )

    def same_start(self, other: StartOverride | None) -> bool:
        """Whether an instance started with `other` is what a start asking for these options boots."""
        other = other or StartOverride()
        return (
            _same_map(self.env_vars, other.env_vars)
            and self.entrypoint == other.entrypoint
            and _same_map(self.labels, other.labels)
            and self.enable_internet == other.enable_internet
        )


def _same_map(a: Mapping[str, str] | None, b: Mapping[str, str] | None) -> bool:
    if a is None or b is None:
        return a is b
    return dict(a) == dict(b)


def _string_map(body: Mapping[str, Any], field: str, key_rule: str) -> dict[str, str] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadStartOptions(f"`{field}` must be an object of string values")
    for key in value:
        if key_rule == "env" and not ENV_NAME.match(key):
            raise BadStartOptions(f'`{field}` name "{key}" is not a valid environment variable name')
        if key_rule == "label" and not key.strip():
            raise BadStartOptions(f"`{field}` must be a record of non-empty keys to string values")
    return dict(value)


def parse_start_options(body: Mapping[str, Any]) -> StartOverride:
    """The JSON body of a start call: `{envVars?, entrypoint?, labels?, enableInternet?}`."""
    unknown = sorted(set(body) - {"envVars", "entrypoint", "labels", "enableInternet"})
    if unknown:
        raise BadStartOptions(
            f"unknown start option `{unknown[0]}`: use envVars, entrypoint, labels or enableInternet"
        )
    entrypoint = body.get("entrypoint")
    if entrypoint is not None and (
        not isinstance(entrypoint, list)
        or not entrypoint
        or not all(isinstance(part, str) and part.strip() for part in entrypoint)
    ):
        raise BadStartOptions("`entrypoint` must be a non-empty array of non-empty strings")
    enable_internet = body.get("enableInternet")
    if enable_internet is not None and not isinstance(enable_internet, bool):
        raise BadStartOptions("`enableInternet` must be a boolean")
    return StartOverride(
        env_vars=_string_map(body, "envVars", "env"),
        entrypoint=tuple(entrypoint) if entrypoint is not None else None,
        labels=_string_map(body, "labels", "label"),
        enable_internet=enable_internet,
    )


def to_secret_data(override: StartOverride) -> dict[str, str]:
    """Secret stringData: one `env.NAME` key per variable (what the Pod references) and a
    description of the rest that names the variables without their values."""
    meta = {
        "envVars": sorted(override.env_vars) if override.env_vars is not None else None,
        "entrypoint": list(override.entrypoint) if override.entrypoint is not None else None,
        "labels": dict(override.labels) if override.labels is not None else None,
        "enableInternet": override.enable_internet,
    }
    data = {META_KEY: json.dumps(meta, sort_keys=True)}
    for name, value in (override.env_vars or {}).items():
        data[ENV_KEY_PREFIX + name] = value
    return data


def from_secret_data(data: Mapping[str, str]) -> StartOverride:
    """The override from a Secret's base64 `data`, as the API server returns it."""
    plain = {key: base64.b64decode(value).decode() for key, value in data.items()}
    meta = json.loads(plain.get(META_KEY, "{}"))
    names = meta.get("envVars")
    entrypoint = meta.get("entrypoint")
    return StartOverride(
        env_vars={name: plain.get(ENV_KEY_PREFIX + name, "") for name in names}
        if names is not None
        else None,
        entrypoint=tuple(entrypoint) if entrypoint is not None else None,
        labels=meta.get("labels"),
        enable_internet=meta.get("enableInternet"),
    )
