"""Cloudflare's egress rules for one container instance, as pure data and functions.

The order is the one Cloudflare's ContainerProxy applies to every outbound request, first
match wins:

1. the host matches `deniedHosts` → refused (520 `Origin is disallowed`);
2. `allowedHosts` is set (even to an empty list) and the host matches none of it → refused,
   whatever `enableInternet` says;
3. the host matched `allowedHosts` → the internet, even with `enableInternet` false;
4. `enableInternet` → the internet;
5. otherwise refused.

Patterns are globs where `*` is any sequence (also none, also dots). Host and pattern are
compared case-insensitively, trailing dots stripped. (Cloudflare lower-cases the URL's host
but not the patterns; a pattern in capitals never matches there.)

Without `interceptHttps`, Cloudflare does not see inside TLS: HTTPS follows `enableInternet`
alone (`evaluate_tls_tunnel`).

Runtime changes (`allow`, `deny`, …) replace the declared list with an override, exactly as
Cloudflare's `allowHost` / `removeAllowedHost` / … do; `removeAllowedHost` on an instance
without an allow list therefore sets an empty one, which refuses every host.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

# Cloudflare's platform default: a container reaches the internet unless told otherwise.
DEFAULT_ENABLE_INTERNET = True


class Rule(StrEnum):
    """What decided a request, as logged and counted."""

    DENIED_HOSTS = "deniedHosts"
    ALLOWED_HOSTS = "allowedHosts"
    ENABLE_INTERNET = "enableInternet"
    DEFAULT = "default"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: Rule

    @property
    def verdict(self) -> str:
        return "allow" if self.allowed else "deny"


@dataclass(frozen=True)
class EgressRules:
    """One instance's rules. `None` lists are unset; an empty tuple is set and empty, which for
    `allowed_hosts` refuses every host (Cloudflare tests the list's presence, not its length)."""

    enable_internet: bool = DEFAULT_ENABLE_INTERNET
    allowed_hosts: tuple[str, ...] | None = None
    denied_hosts: tuple[str, ...] | None = None
    intercept_https: bool = False


@dataclass(frozen=True)
class InstanceRules:
    """The declared rules of an instance plus its runtime overrides. An override, once set,
    replaces the declared list until the instance restarts."""

    declared: EgressRules
    allowed_override: tuple[str, ...] | None = None
    denied_override: tuple[str, ...] | None = None

    @property
    def effective(self) -> EgressRules:
        return replace(
            self.declared,
            allowed_hosts=self.allowed_override
            if self.allowed_override is not None
            else self.declared.allowed_hosts,
            denied_hosts=self.denied_override
            if self.denied_override is not None
            else self.declared.denied_hosts,
        )


def normalize_host(host: str) -> str:
    """The host as compared: lower case, without trailing dots."""
    return host.rstrip(".").lower()


def glob_match(pattern: str, host: str) -> bool:
    """`*` matches any sequence of characters (none included); everything else literally.
    Literal parts are found left to right (linear, no backtracking), as Cloudflare does."""
    parts = normalize_host(pattern).split("*")
    value = normalize_host(host)
    if len(parts) == 1:
        return parts[0] == value
    first, *middle, last = parts
    if not value.startswith(first) or not value.endswith(last):
        return False
    position = len(first)
    for part in middle:
        found = value.find(part, position)
        if found == -1:
            return False
        position = found + len(part)
    return position <= len(value) - len(last)


def matches_any(patterns: Iterable[str], host: str) -> bool:
    return any(glob_match(pattern, host) for pattern in patterns)


def evaluate(rules: EgressRules, host: str) -> Decision:
    """The decision for a request Cloudflare intercepts (HTTP, and HTTPS with interceptHttps)."""
    if rules.denied_hosts is not None and matches_any(rules.denied_hosts, host):
        return Decision(False, Rule.DENIED_HOSTS)
    if rules.allowed_hosts is not None:
        if not matches_any(rules.allowed_hosts, host):
            return Decision(False, Rule.ALLOWED_HOSTS)
        return Decision(True, Rule.ALLOWED_HOSTS)
    if rules.enable_internet:
        return Decision(True, Rule.ENABLE_INTERNET)
    return Decision(False, Rule.DEFAULT)


def evaluate_tls_tunnel(rules: EgressRules) -> Decision:
    """The decision for HTTPS Cloudflare does not intercept (interceptHttps off): it never sees
    the host, so the lists do not apply and the container's internet access alone decides."""
    if rules.enable_internet:
        return Decision(True, Rule.ENABLE_INTERNET)
    return Decision(False, Rule.DEFAULT)


# Runtime changes, each as Cloudflare's Container class makes it (allowHost, denyHost,
# removeAllowedHost, removeDeniedHost, setAllowedHosts, setDeniedHosts).


def allow_host(rules: InstanceRules, host: str) -> InstanceRules:
    current = rules.effective.allowed_hosts or ()
    if host in current:
        return rules
    return replace(rules, allowed_override=(*current, host))


def deny_host(rules: InstanceRules, host: str) -> InstanceRules:
    current = rules.effective.denied_hosts or ()
    if host in current:
        return rules
    return replace(rules, denied_override=(*current, host))


def remove_allowed_host(rules: InstanceRules, host: str) -> InstanceRules:
    current = rules.effective.allowed_hosts or ()
    return replace(rules, allowed_override=tuple(h for h in current if h != host))


def remove_denied_host(rules: InstanceRules, host: str) -> InstanceRules:
    current = rules.effective.denied_hosts or ()
    return replace(rules, denied_override=tuple(h for h in current if h != host))


def set_allowed_hosts(rules: InstanceRules, hosts: Iterable[str]) -> InstanceRules:
    return replace(rules, allowed_override=tuple(hosts))


def set_denied_hosts(rules: InstanceRules, hosts: Iterable[str]) -> InstanceRules:
    return replace(rules, denied_override=tuple(hosts))
