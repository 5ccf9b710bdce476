"""How an instance Pod carries its declared egress rules, and how the proxy finds instance Pods.

The router's Pod builder writes these annotations onto each instance Pod (`rules_annotations`
gives them); the proxy reads them back with `rules_from_annotations`. Booleans are "true" or
"false"; lists are JSON arrays, an absent list is unset, `[]` is set and empty (an empty allow
list refuses every host). The keys and labels are the router's (local mode's names module).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TypeGuard

from lunora_operator.api.base import GROUP
from lunora_operator.local.egress.rules import DEFAULT_ENABLE_INTERNET, EgressRules, InstanceRules

Overrides = tuple[tuple[str, ...] | None, tuple[str, ...] | None]
"""(allowed override, denied override) of `InstanceRules`."""

ENABLE_INTERNET = f"{GROUP}/enable-internet"
ALLOWED_HOSTS = f"{GROUP}/allowed-hosts"
DENIED_HOSTS = f"{GROUP}/denied-hosts"
INTERCEPT_HTTPS = f"{GROUP}/intercept-https"
RUNTIME_RULES = f"{GROUP}/egress-runtime"
"""The runtime changes (the router's egress endpoints) on the instance's own Pod: they outlive a
proxy restart and end with the run, as on Cloudflare. A JSON object with `allowedHosts` and/or
`deniedHosts`, each present once changed (an override replaces the declared list)."""

# Labels of instance Pods (the router sets them); the proxy serves the Pods `instance_selector`
# selects. Label values are the router's: an app name longer than 63 characters is shortened.
APP_LABEL = f"{GROUP}/app"
ROLE_LABEL = f"{GROUP}/role"
INSTANCE_ROLE = "instance"
CONTAINER_LABEL = f"{GROUP}/container"


class AnnotationError(ValueError):
    """An egress annotation the proxy cannot read; the instance is then refused everything."""


def rules_annotations(
    *,
    enable_internet: bool | None,
    allowed_hosts: list[str] | None,
    denied_hosts: list[str] | None,
    intercept_https: bool | None,
) -> dict[str, str]:
    """The annotations for a container's declared rules (None: not declared, the platform
    default applies)."""
    annotations: dict[str, str] = {}
    if enable_internet is not None:
        annotations[ENABLE_INTERNET] = json.dumps(enable_internet)
    if allowed_hosts is not None:
        annotations[ALLOWED_HOSTS] = json.dumps(list(allowed_hosts))
    if denied_hosts is not None:
        annotations[DENIED_HOSTS] = json.dumps(list(denied_hosts))
    if intercept_https is not None:
        annotations[INTERCEPT_HTTPS] = json.dumps(intercept_https)
    return annotations


def _boolean(annotations: Mapping[str, str], key: str, default: bool) -> bool:
    if key not in annotations:
        return default
    value = annotations[key].strip().lower()
    if value not in ("true", "false"):
        raise AnnotationError(f'annotation {key} must be "true" or "false", not {annotations[key]!r}')
    return value == "true"


def _is_host_list(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(host, str) and host.strip() for host in value)


def _json(annotations: Mapping[str, str], key: str, expected: str) -> object:
    try:
        return json.loads(annotations[key])
    except json.JSONDecodeError as error:
        raise AnnotationError(f"annotation {key} must be {expected}: {error}") from None


def _hosts(annotations: Mapping[str, str], key: str) -> tuple[str, ...] | None:
    if key not in annotations:
        return None
    value = _json(annotations, key, "a JSON array of host names")
    if not _is_host_list(value):
        raise AnnotationError(f"annotation {key} must be a JSON array of non-empty host names")
    return tuple(value)


def rules_from_annotations(annotations: Mapping[str, str]) -> EgressRules:
    return EgressRules(
        enable_internet=_boolean(annotations, ENABLE_INTERNET, DEFAULT_ENABLE_INTERNET),
        allowed_hosts=_hosts(annotations, ALLOWED_HOSTS),
        denied_hosts=_hosts(annotations, DENIED_HOSTS),
        intercept_https=_boolean(annotations, INTERCEPT_HTTPS, False),
    )


def runtime_annotation(rules: InstanceRules) -> str:
    changed: dict[str, list[str]] = {}
    if rules.allowed_override is not None:
        changed["allowedHosts"] = list(rules.allowed_override)
    if rules.denied_override is not None:
        changed["deniedHosts"] = list(rules.denied_override)
    return json.dumps(changed, sort_keys=True)


def runtime_from_annotations(annotations: Mapping[str, str]) -> Overrides | None:
    """The runtime overrides a Pod carries; None when it was never changed."""
    if RUNTIME_RULES not in annotations:
        return None
    value = _json(annotations, RUNTIME_RULES, "a JSON object")
    if not isinstance(value, dict) or not set(value) <= {"allowedHosts", "deniedHosts"}:
        raise AnnotationError(f'annotation {RUNTIME_RULES} may hold only "allowedHosts" and "deniedHosts"')
    for key, hosts in value.items():
        if not _is_host_list(hosts):
            raise AnnotationError(f"annotation {RUNTIME_RULES}: {key} must be a list of non-empty host names")
    allowed, denied = value.get("allowedHosts"), value.get("deniedHosts")
    return (None if allowed is None else tuple(allowed)), (None if denied is None else tuple(denied))
