"""Paths under `/__lunora/` are Lunora's own container routes (exec): no request from outside may
reach them, however the path is spelled.

Lunora's rule: look at the path and at each successive percent-decoding of it, up to five rounds;
the path is reserved when any form's first segment is `__lunora`, or when it still changes after
five rounds. A malformed escape does not stop the decoding: the valid escapes around it are
decoded. Here each form is also normalised as a server would route it (backslashes as slashes,
`.` and `..` segments resolved, empty segments dropped), so `/a/..%2F__lunora/exec` is refused
too; `/__lunora-status` is not reserved.
"""

from __future__ import annotations

from urllib.parse import unquote

RESERVED_SEGMENT = "__lunora"
DECODING_ROUNDS = 5
_DOT = {".", "%2e"}
_DOT_DOT = {"..", ".%2e", "%2e.", "%2e%2e"}


def _segments(path: str) -> list[str]:
    kept: list[str] = []
    for segment in path.replace("\\", "/").split("/"):
        lowered = segment.lower()
        if not segment or lowered in _DOT:
            continue
        if lowered in _DOT_DOT:
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    return kept


def _touches(path: str) -> bool:
    segments = _segments(path)
    return bool(segments) and segments[0] == RESERVED_SEGMENT


def is_reserved(target: str) -> bool:
    """Whether a request target (path and query, as sent) reaches `/__lunora/`."""
    form = target.split("?", 1)[0].split("#", 1)[0]
    if "%" not in form and RESERVED_SEGMENT not in form:
        return False  # nothing to decode, and no spelling of the segment to normalise
    for _ in range(DECODING_ROUNDS):
        if _touches(form):
            return True
        decoded = unquote(form, errors="surrogateescape")
        if decoded == form:
            return False
        form = decoded
    return _touches(form) or unquote(form, errors="surrogateescape") != form
