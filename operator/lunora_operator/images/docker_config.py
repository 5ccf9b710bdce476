"""Registry credentials from a `kubernetes.io/dockerconfigjson` Secret's `.dockerconfigjson`, as
the kubelet reads them to pull: the entry for the registry's host (a key may carry a scheme or a
path), with `auth` (base64 of user:password) or `username` and `password`."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import urlsplit

from lunora_operator.images.push import RegistryAuth


class DockerConfigInvalid(ValueError):
    """The text is not a docker config with credentials; the message never holds a secret."""


def _host(key: str) -> str:
    return urlsplit(key if "://" in key else f"//{key}").netloc.lower()


def registry_host(registry: str) -> str:
    """`localhost:5001/team` -> `localhost:5001`."""
    return registry.split("/", 1)[0].lower()


def credentials_for(config_text: str, registry: str) -> RegistryAuth | None:
    """The credentials the config holds for `registry`'s host; None when it holds none."""
    try:
        config = json.loads(config_text)
    except ValueError:
        raise DockerConfigInvalid("is not JSON") from None
    auths = config.get("auths") if isinstance(config, dict) else None
    if not isinstance(auths, dict):
        raise DockerConfigInvalid('has no "auths" object')
    wanted = registry_host(registry)
    for key, entry in auths.items():
        if _host(str(key)) != wanted or not isinstance(entry, dict):
            continue
        if entry.get("username") is not None and entry.get("password") is not None:
            return RegistryAuth(str(entry["username"]), str(entry["password"]))
        if entry.get("auth"):
            try:
                user, sep, password = (
                    base64.b64decode(str(entry["auth"]), validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                sep = ""
            if not sep:
                raise DockerConfigInvalid(f'"auths" entry {key!r}: `auth` is not base64 of user:password')
            return RegistryAuth(user, password)
        raise DockerConfigInvalid(f'"auths" entry {key!r} has no `auth` nor `username` and `password`')
    return None
