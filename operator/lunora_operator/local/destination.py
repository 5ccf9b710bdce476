"""Where a request for `/<container>/<id>/<path>` goes, or the reply it gets instead: one decision
for both ways a request comes in (the forwarding path, and aiohttp's for WebSockets)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from lunora_operator.local import errors
from lunora_operator.local.fleet import Fleet
from lunora_operator.local.instance import Instance
from lunora_operator.local.reserved import is_reserved
from lunora_operator.local.routing import parse_target, target_port
from lunora_operator.local.texts import RESERVED_PATH, Answer

TEXT = "text/plain; charset=utf-8"
JSON = "application/json; charset=utf-8"
DETAIL_HEADER = "x-lunora-router-detail"


@dataclass(frozen=True, slots=True)
class Destination:
    instance: Instance
    port: int
    path: str
    """What the instance is asked for: the rest of the path and the query, as sent."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A response the router makes itself."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def problem(status: int, code: str, message: str) -> Reply:
    """Lunora's error shape: JSON `{code, message}`."""
    return Reply(status, json.dumps({"code": code, "message": message}).encode(), JSON)


def answer(failure: errors.Unavailable) -> Reply:
    """The platform's status and text; the router's own words in a header."""
    detail = failure.detail.replace("\n", " ")[:1024]
    return Reply(failure.answer.status, failure.answer.text.encode(), TEXT, ((DETAIL_HEADER, detail),))


def text(what: Answer) -> Reply:
    return Reply(what.status, what.text.encode(), TEXT)


NO_TARGET = problem(404, "NOT_FOUND", "address an instance as /<container>/<id>/<path>")


def destination(fleet: Fleet, raw_path: str, port_header: str | None) -> Destination | Reply:
    """`raw_path` is the request target as sent; `port_header` the `cf-container-target-port`
    header, if any. The instance is looked up, not opened: the caller opens it."""
    target = parse_target(raw_path)
    if target is None:
        return NO_TARGET
    if is_reserved(target.path):
        return text(RESERVED_PATH)
    try:
        config = fleet.config(target.container)
        port = target_port(port_header, config.default_port)
        instance = fleet.instance(target.container, target.instance or fleet.pool_instance(target.container))
    except errors.UnknownContainer as missing:
        return problem(404, "NOT_FOUND", str(missing))
    except errors.Unavailable as failure:
        return answer(failure)
    return Destination(instance, port, target.path)
