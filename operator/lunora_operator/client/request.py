"""Building the request a handle sends, as Lunora's `toRequest` does, and the reserved-path guard.

A path string (`"/transcode"`) is resolved against the internal origin `http://container` the
way a URL parser resolves it (backslashes separate segments, `.`/`..` and their `%2e` spellings
are resolved), so the path the guard checks is the path that is sent. Any other string or a
pre-built `httpx.Request` passes through with its URL unchanged.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from lunora_operator.client.errors import LunoraError

INTERNAL_ORIGIN = "http://container"
# The header `@cloudflare/containers`' `switchPort` sets to reach a port other than `defaultPort`.
TARGET_PORT_HEADER = "cf-container-target-port"
TRACEPARENT_HEADER = "traceparent"
# The sampling verdict travels only when it was propagated, so "absent" differs from "0".
SAMPLE_ERRORS_HEADER = "x-lunora-sample-errors"
# An in-worker mark that once opened the exec route; forgeable, so stripped from caller fetches.
EXEC_MARK_HEADER = "x-lunora-container-exec"
EXEC_PATH = "/__lunora/exec"
RESERVED_SEGMENT = "__lunora"
# Successive percent-decodings the guard follows; a path still changing after them is reserved.
DECODE_ROUNDS = 5

Content = bytes | str | AsyncIterable[bytes] | None
HeaderInput = Mapping[str, str] | Sequence[tuple[str, str]] | httpx.Headers | None
RequestInput = str | httpx.Request

_DOUBLE_DOT = {"..", ".%2e", "%2e.", "%2e%2e"}
_SINGLE_DOT = {".", "%2e"}
_MALFORMED_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class RequestContext:
    """What every request of one `Containers` carries: the trace context and sampling verdict."""

    traceparent: str | None = None
    sample_errors: bool | None = None


def resolve_path(raw: str) -> str:
    """A path (with optional query) resolved as a URL parser resolves a special URL's path.

    `\\` separates like `/`; `.` and `..` segments, also spelled `%2e`, are resolved; a fragment is
    dropped (it is never sent). `"/foo/../__lunora/exec"` -> `"/__lunora/exec"`.
    """
    without_fragment = raw.partition("#")[0]
    path, has_query, query = without_fragment.partition("?")
    segments = path.replace("\\", "/").split("/")[1:]
    resolved: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        lowered = segment.lower()
        if lowered in _DOUBLE_DOT:
            if resolved:
                resolved.pop()
            if last:
                resolved.append("")
        elif lowered in _SINGLE_DOT:
            if last:
                resolved.append("")
        else:
            resolved.append(segment)
    return "/" + "/".join(resolved) + (f"?{query}" if has_query else "")


def _first_segment(pathname: str) -> str:
    return next((segment for segment in pathname.replace("\\", "/").split("/") if segment), "")


def _decode_round(text: str) -> str:
    """One percent-decoding; a malformed escape makes the round decode each `%XX` on its own."""
    if not _MALFORMED_ESCAPE.search(text):
        try:
            return unquote(text, errors="strict")
        except UnicodeDecodeError:
            pass
    return _ESCAPE.sub(lambda match: chr(int(match[1], 16)) if int(match[1], 16) < 0x80 else match[0], text)


def is_reserved_path(pathname: str) -> bool:
    """True when `pathname` (already resolved) reaches `/__lunora/` in any of its decoded spellings.

    The raw path and up to five successive percent-decodings (each resolved again) are checked; a
    path that would still change after the fifth is reserved, since a router might decode it
    further. `/__lunora-status` is not reserved: only the whole first segment counts.
    """
    current = pathname
    if _first_segment(current) == RESERVED_SEGMENT:
        return True
    for _ in range(DECODE_ROUNDS):
        decoded = _decode_round(current)
        if decoded == current:
            return False
        if _first_segment(resolve_path(decoded if decoded.startswith("/") else "/" + decoded)) == (
            RESERVED_SEGMENT
        ):
            return True
        current = decoded
    return _decode_round(current) != current


def request_pathname(target: RequestInput) -> str:
    """The resolved pathname `target` will be sent with."""
    if isinstance(target, httpx.Request):
        return resolve_path(target.url.raw_path.decode("ascii").partition("?")[0])
    if target.startswith("/"):
        return resolve_path(target).partition("?")[0]
    return resolve_path(urlsplit(target).path or "/").partition("?")[0]


def assert_path_not_reserved(target: RequestInput, label: str) -> None:
    """Refuse a caller's `fetch` into `/__lunora/*`: exec owns those routes."""
    if is_reserved_path(request_pathname(target)):
        raise LunoraError(
            "BAD_REQUEST",
            f"{label}: `/{RESERVED_SEGMENT}/*` is reserved for Lunora's own container routes and cannot be "
            "reached with `fetch`. Use `exec` to run a command.",
        )


def _resolved_url(target: str) -> str:
    if target.startswith("/"):
        return INTERNAL_ORIGIN + resolve_path(target)
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        raise LunoraError(
            "BAD_REQUEST",
            f"fetch: {target!r} is neither a path starting with '/' nor an http(s) URL",
        )
    path_and_query = resolve_path((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    path, _, query = path_and_query.partition("?")
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def is_replayable(target: RequestInput, content: Content) -> bool:
    """Only a string target with a body that can be sent again may be retried.

    A pre-built request (its body may be a one-shot stream) and a streamed `content` are sent once.
    """
    return isinstance(target, str) and (content is None or isinstance(content, bytes | str))


def build_request(
    target: RequestInput,
    *,
    method: str = "GET",
    headers: HeaderInput = None,
    content: Content = None,
    port: int | None = None,
    context: RequestContext = RequestContext(),
    strip_exec_mark: bool = True,
) -> httpx.Request:
    """A fresh request for one attempt, with the port header and trace context set."""
    if isinstance(target, httpx.Request):
        merged = httpx.Headers(target.headers)
        if headers is not None:
            merged.update(httpx.Headers(headers))
        request = httpx.Request(
            target.method, target.url, headers=merged, stream=target.stream, extensions=target.extensions
        )
    else:
        request = httpx.Request(method, _resolved_url(target), headers=headers, content=content)
    if strip_exec_mark and EXEC_MARK_HEADER in request.headers:
        del request.headers[EXEC_MARK_HEADER]
    if port is not None:
        request.headers[TARGET_PORT_HEADER] = str(port)
    if context.traceparent is not None:
        request.headers[TRACEPARENT_HEADER] = context.traceparent
    if context.sample_errors is not None:
        request.headers[SAMPLE_ERRORS_HEADER] = "1" if context.sample_errors else "0"
    return request


def validate_port(port: object) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise LunoraError("BAD_REQUEST", f"port: {port!r} is not a TCP port; give a whole number in 1–65535")
    return port
