"""Where a built image goes: `<registry>/<accountId>/<repository>:<tag>`.

The repository is the container's Containers application name, made a valid registry path
component. Two application names that map to one repository are harmless: tags are content
digests, so each build lands under its own tag.
"""

from __future__ import annotations

import re

DEFAULT_REGISTRY = "registry.cloudflare.com"
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
