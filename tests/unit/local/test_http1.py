"""The wire format of the forwarding path, as bytes: which headers stay on their connection, and
the heads, chunks and replies the router writes."""

from __future__ import annotations

import pytest

from lunora_operator.local import http1
from lunora_operator.local.http1 import Message


def test_a_message_keeps_end_to_end_headers_in_order_and_reads_what_a_proxy_needs() -> None:
    message = Message(
        [
            (b"Host", b"router.example"),
            (b"Connection", b"keep-alive, X-Hop"),
            (b"X-Hop", b"1"),
            (b"Transfer-Encoding", b"gzip, chunked"),
            (b"Expect", b"100-Continue"),
            (b"cf-container-target-port", b"8081"),
            (b"X-A", b"1"),
            (b"Keep-Alive", b"timeout=5"),
            (b"x-a", b"2"),
        ],
        b"cf-container-target-port",
    )

    assert message.end_to_end == [
        (b"Expect", b"100-Continue"),
        (b"cf-container-target-port", b"8081"),
        (b"X-A", b"1"),
        (b"x-a", b"2"),
    ]
    assert (message.host, message.port, message.chunked, message.expect_continue) == (
        b"router.example", b"8081", True, True,
    )  # fmt: skip
    assert message.has_body


@pytest.mark.parametrize(
    ("headers", "has_body"),
    [
        ([], False),
        ([(b"Content-Length", b"0")], False),
        ([(b"Content-Length", b"12")], True),
        ([(b"Transfer-Encoding", b"chunked")], True),
        ([(b"Transfer-Encoding", b"gzip")], False),
    ],
)
def test_a_request_has_a_body_when_it_is_chunked_or_has_a_length(
    headers: list[tuple[bytes, bytes]], has_body: bool
) -> None:
    assert Message(headers).has_body is has_body


def test_request_and_response_heads() -> None:
    assert http1.request_head(b"POST", b"/a?b=1", b"container", [(b"X-A", b"1")], chunked=True) == (
        b"POST /a?b=1 HTTP/1.1\r\nHost: container\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    assert http1.request_head(b"GET", b"/", b"container", [], chunked=False) == (
        b"GET / HTTP/1.1\r\nHost: container\r\n\r\n"
    )
    close = http1.connection_header(keep_alive=False, http10=False)
    assert http1.response_head(200, b"Fine", [(b"X-B", b"2")], chunked=True, connection=close) == (
        b"HTTP/1.1 200 Fine\r\nX-B: 2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    assert (
        http1.response_head(404, b"", [], chunked=False, connection=b"") == b"HTTP/1.1 404 Not Found\r\n\r\n"
    )
    assert http1.response_head(599, b"", [], chunked=False, connection=b"") == b"HTTP/1.1 599 Unknown\r\n\r\n"


def test_connection_header_says_what_the_version_does_not_imply() -> None:
    assert http1.connection_header(keep_alive=True, http10=False) == b""
    assert http1.connection_header(keep_alive=True, http10=True) == b"Connection: keep-alive\r\n"
    assert http1.connection_header(keep_alive=False, http10=True) == b"Connection: close\r\n"


def test_chunks() -> None:
    assert http1.chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert http1.LAST_CHUNK == b"0\r\n\r\n"


def test_a_reply_has_its_length_and_a_date_and_to_head_no_body() -> None:
    whole = http1.reply(403, b"no", b"text/plain", [(b"X-D", b"why")], keep_alive=False, http10=False)
    head, _, body = whole.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")

    assert lines[0] == b"HTTP/1.1 403 Forbidden"
    assert set(lines[1:]) >= {
        b"Content-Type: text/plain",
        b"Content-Length: 2",
        b"X-D: why",
        b"Connection: close",
    }
    assert any(line.startswith(b"Date: ") and line.endswith(b" GMT") for line in lines)
    assert body == b"no"
    to_head = http1.reply(403, b"", b"text/plain", [], keep_alive=True, http10=False, length=2)
    assert to_head.endswith(b"\r\n\r\n")
    assert b"Content-Length: 2\r\n" in to_head


@pytest.mark.parametrize(
    ("status", "head_request", "bodiless"),
    [
        (200, False, False),
        (200, True, True),
        (101, False, True),
        (204, False, True),
        (304, False, True),
        (404, False, False),
    ],
)
def test_which_responses_have_no_body(status: int, head_request: bool, bodiless: bool) -> None:
    assert http1.no_body(status, head_request) is bodiless
