"""HTTP/1.1 on the wire for the forwarding path: which headers a proxy drops, and the bytes of
request and response heads, of chunked bodies and of the router's own replies. Pure functions
over raw header pairs (names as sent, values as bytes)."""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

Headers = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"proxy-connection",
        b"te", b"trailer", b"transfer-encoding", b"upgrade", b"host",
    }
)  # fmt: skip
"""Headers of one connection, never passed on; `Host` is set for the next hop."""
_CONNECTION_OPTIONS = frozenset({b"close", b"keep-alive", b"upgrade"})
LAST_CHUNK = b"0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Message:
    """What a proxy needs from a message's headers, read in one pass."""

    __slots__ = ("chunked", "content_length", "end_to_end", "expect_continue", "host", "port")

    def __init__(self, headers: Headers, port_header: bytes = b"") -> None:
        self.chunked = False
        self.content_length: bytes | None = None
        self.expect_continue = False
        self.host: bytes | None = None
        self.port: bytes | None = None
        """The value of `port_header` (lowercase name), when given and present."""
        kept: Headers = []
        listed: set[bytes] | None = None
        for name, value in headers:
            lowered = name.lower()
            if lowered in HOP_BY_HOP:
                if lowered == b"transfer-encoding":
                    self.chunked = self.chunked or value.lower().rstrip().endswith(b"chunked")
                elif lowered == b"host":
                    self.host = value
                elif lowered == b"connection":
                    options = {option.strip().lower() for option in value.split(b",")} - _CONNECTION_OPTIONS
                    if options:
                        listed = options if listed is None else listed | options
                continue
            if lowered == b"content-length":
                self.content_length = value
            elif lowered == b"expect":
                self.expect_continue = value.lower() == b"100-continue"
            elif lowered == port_header:
                self.port = value
            kept.append((name, value))
        if listed:  # headers the Connection header names are of this connection too
            kept = [(name, value) for name, value in kept if name.lower() not in listed]
        self.end_to_end = kept

    @property
    def has_body(self) -> bool:
        return self.chunked or (self.content_length is not None and self.content_length.strip() != b"0")


def request_head(method: bytes, target: bytes, host: bytes, headers: Headers, chunked: bool) -> bytes:
    parts = [method, b" ", target, b" HTTP/1.1\r\nHost: ", host, b"\r\n"]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"Transfer-Encoding: chunked\r\n\r\n" if chunked else b"\r\n")
    return b"".join(parts)


def connection_header(keep_alive: bool, http10: bool) -> bytes:
    if not keep_alive:
        return b"Connection: close\r\n"
    return b"Connection: keep-alive\r\n" if http10 else b""


def response_head(status: int, reason: bytes, headers: Headers, chunked: bool, connection: bytes) -> bytes:
    parts = [b"HTTP/1.1 %d %s\r\n" % (status, reason or _reason(status))]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    if chunked:
        parts.append(b"Transfer-Encoding: chunked\r\n")
    parts += (connection, b"\r\n")
    return b"".join(parts)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


def reply(
    status: int,
    body: bytes,
    content_type: bytes,
    headers: Headers,
    keep_alive: bool,
    http10: bool,
    length: int | None = None,
) -> bytes:
    """A whole response the router makes itself; `length` when the body is left out (HEAD)."""
    parts = [b"HTTP/1.1 %d %s\r\nContent-Type: " % (status, _reason(status)), content_type]
    size = len(body) if length is None else length
    parts.append(b"\r\nContent-Length: %d\r\nDate: %s\r\n" % (size, http_date()))
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    parts += (connection_header(keep_alive, http10), b"\r\n", body)
    return b"".join(parts)


def no_body(status: int, head_request: bool) -> bool:
    """Whether a response has no body whatever its headers say: a response to HEAD, 1xx, 204 and 304."""
    return head_request or status < 200 or status in (204, 304)


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Unknown"


_date: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True).encode())
    return _date[1]
