"""Where a request goes: `/<container>/<id>/<path>` to instance `<id>` of `<container>`, port from
the `cf-container-target-port` header (what Lunora's `.port(n)` sets) or `defaultPort`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from lunora_operator.local import texts
from lunora_operator.local.errors import Unavailable

TARGET_PORT_HEADER = "cf-container-target-port"
POOL_IDS = frozenset({"any", "pool"})
"""`/<container>/any/…` and `/<container>/pool/…` go to a random `pool-<i>` instance, as
`.any()` and `.pool()` do; the caller may also name `pool-<i>` itself."""
_LEADING_INT = re.compile(r"^\s*[+-]?\d+")


@dataclass(frozen=True)
class Target:
    container: str
    instance: str | None
    """None: pick one of the pool."""
    path: str
    """What the instance is asked for: the rest of the path and the query, as sent."""


def parse_target(raw_path: str) -> Target | None:
    """`raw_path` is the request target as sent (percent-encoding intact); the container and id
    segments are decoded, the rest is passed on untouched."""
    if not raw_path.startswith("/"):
        return None
    path, mark, query = raw_path[1:].partition("?")
    container, _, rest = path.partition("/")
    instance, slash, tail = rest.partition("/")
    if not container or not instance:
        return None
    forwarded = "/" + tail if slash else "/"
    if mark:
        forwarded += "?" + query
    instance_id = unquote(instance)
    return Target(unquote(container), None if instance_id in POOL_IDS else instance_id, forwarded)


def target_port(header: str | None, default_port: int | None) -> int:
    """The port a request goes to. Like Cloudflare's `fetch`: without the header and without a
    `defaultPort` it fails, and a header that does not start with a number fails."""
    if header is None:
        if default_port is None:
            raise Unavailable(texts.NO_PORT)
        return default_port
    match = _LEADING_INT.match(header)
    if match is None:
        raise Unavailable(texts.PORT_NOT_A_NUMBER)
    return int(match.group())
