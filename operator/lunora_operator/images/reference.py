"""Image references as Cloudflare gets them: where a built image goes
(`<registry>/<accountId>/<repository>:<tag>`) and how a reference is resolved (wrangler's
`resolveImageName`).

The repository is the container's Containers application name, made a valid registry path
component. Two application names that map to one repository are harmless: tags are content
digests, so each build lands under its own tag.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

DEFAULT_REGISTRY = "registry.cloudflare.com"
REGISTRY_VARIABLE = "CLOUDFLARE_CONTAINER_REGISTRY"
_ACCOUNT_SEGMENT = re.compile(r"^/([a-f0-9]{32})/")
# Characters a URL host may not hold (WHATWG "forbidden host code points" that urlsplit lets pass).
_NOT_IN_HOST = re.compile(r"[\s#%/<>?@\[\\\]^|]")


class ForeignImage(ValueError):
    """A Cloudflare-registry reference under another account's namespace."""


def container_registry(app_registry: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """The Cloudflare registry host: the app's own setting, else `CLOUDFLARE_CONTAINER_REGISTRY`
    (as wrangler reads it), else registry.cloudflare.com."""
    return app_registry or environ.get(REGISTRY_VARIABLE) or DEFAULT_REGISTRY


def _url_parts(image: str) -> tuple[str, str, str] | None:
    """(host, hostname, path) of `http://<image>` as a WHATWG URL parser reads it (the default
    port 80 is dropped from the host); None where that parser would throw."""
    try:
        parts = urlsplit(f"http://{image}")
        port = parts.port
    except ValueError:
        return None
    hostname = parts.hostname
    if not hostname or _NOT_IN_HOST.search(hostname):
        return None
    host = hostname if port is None or port == 80 else f"{hostname}:{port}"
    return host, hostname, parts.path or "/"


def resolve_image_name(account_id: str, image: str, registry: str = DEFAULT_REGISTRY) -> str:
    """The reference Cloudflare is sent for `image`, as wrangler 4.86 resolves it: a reference
    without a registry host goes under `<registry>/<account>/`; one on `registry` without the
    account's namespace gets it; one under another account's 32-hex namespace is refused; any
    other host is left as it is. `registry` is compared with the reference's host name (without a
    port), so a registry with a port never matches an explicit host."""
    parts = _url_parts(image)
    if parts is None or (not re.search(r"[:.]", parts[0]) and parts[1] != "localhost"):
        return f"{registry}/{account_id}/{image}"
    _host, hostname, path = parts
    if hostname != registry or path.startswith(f"/{account_id}"):
        return image
    if match := _ACCOUNT_SEGMENT.match(path):
        if match.group(1) != account_id:
            raise ForeignImage(
                f'Image "{image}" does not belong to your account\nImage appears to belong to account: '
                f'"{match.group(1)}"\nCurrent account: "{account_id}"'
            )
        return image
    return f"{hostname}/{account_id}{path}"


# Registry path components are lower-case letters and digits joined by separators; a run of
# anything else becomes one "-". 128 keeps the whole reference well under the 255 limit.
_NOT_NAME = re.compile(r"[^a-z0-9]+")
REPOSITORY_NAME_MAX = 128


def repository_name(application_name: str) -> str:
    """`demo-TranscoderContainer` -> `demo-transcodercontainer`; `My App_v2` -> `my-app-v2`."""
    name = _NOT_NAME.sub("-", application_name.lower()).strip("-")
    name = name[:REPOSITORY_NAME_MAX].rstrip("-")
    if not name:
        raise ValueError(
            f'application name "{application_name}" gives no registry repository name (it needs a '
            "letter or digit); set `spec.name`"
        )
    return name


def target_repository(registry: str | None, account_id: str, application_name: str) -> str:
    """`registry.cloudflare.com/<accountId>/<repository>`; the registry defaults to Cloudflare's."""
    host = (registry or DEFAULT_REGISTRY).rstrip("/")
    return f"{host}/{account_id}/{repository_name(application_name)}"
