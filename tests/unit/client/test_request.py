"""Request building and the reserved-path guard as pure functions."""

from __future__ import annotations

import httpx
import pytest

from lunora_operator.client.errors import LunoraError
from lunora_operator.client.request import (
    RequestContext,
    build_request,
    is_replayable,
    is_reserved_path,
    resolve_path,
)


@pytest.mark.parametrize(
    ("raw", "resolved"),
    [
        ("/transcode", "/transcode"),
        ("/foo/../__lunora/exec", "/__lunora/exec"),
        ("/\\__lunora\\exec", "//__lunora/exec"),
        ("/a/%2E%2e/b", "/b"),
        ("/a/./b/.", "/a/b/"),
        ("/a/..", "/"),
        ("/../../x?q=/../y#frag", "/x?q=/../y"),
    ],
)
def test_paths_resolve_as_a_url_parser_resolves_them(raw: str, resolved: str) -> None:
    assert resolve_path(raw) == resolved


@pytest.mark.parametrize(
    "path",
    [
        "/__lunora/exec",
        "//__lunora//exec",
        "/%5F%5Flunora/exec",
        "/%5f_lunora",
        "/%255F%255Flunora/exec",  # decoded twice
        "/%25255F%25255Flunora/exec",  # three times
        "/%2e%2e%2f__lunora/exec",  # a dot segment hidden behind an encoded slash
        "/%5C__lunora%5Cexec",  # an encoded backslash
        "/%ZZ/..%2F__lunora/x",  # a malformed escape elsewhere still decodes the rest
        "/%C3/..%2F__lunora/x",  # an escape that is not UTF-8 likewise
        "/%" + "25" * 6 + "41",  # still changing after five rounds
    ],
)
def test_reserved_spellings(path: str) -> None:
    assert is_reserved_path(resolve_path(path).partition("?")[0])


@pytest.mark.parametrize(
    "path",
    [
        "/__lunora-status",
        "/",
        "/app/__lunora/exec",
        "/__lunorax/y",
        "/%ZZ",
        "/%" + "25" * 4 + "41",
        "/" + "%25" * 6 + "41",
        "/caf%C3%A9",
    ],
)
def test_other_paths_are_not_reserved(path: str) -> None:
    assert not is_reserved_path(resolve_path(path).partition("?")[0])


def test_a_path_resolves_against_the_internal_origin_with_headers_set() -> None:
    request = build_request(
        "/a/../b?x=1",
        method="POST",
        headers={"x-lunora-container-exec": "1", "x-app": "y"},
        content="body",
        port=9090,
        context=RequestContext(traceparent="00-t-s-01", sample_errors=True),
    )
    assert str(request.url) == "http://container/b?x=1"
    assert request.headers["cf-container-target-port"] == "9090"
    assert request.headers["traceparent"] == "00-t-s-01"
    assert request.headers["x-lunora-sample-errors"] == "1"
    assert request.headers["x-app"] == "y"
    assert "x-lunora-container-exec" not in request.headers


def test_a_prebuilt_request_keeps_its_url_and_the_callers_object_is_untouched() -> None:
    original = httpx.Request("GET", "https://example.com/a?b=c", headers={"x": "1"})
    request = build_request(original, port=8080)
    assert str(request.url) == "https://example.com/a?b=c"
    assert request.headers["cf-container-target-port"] == "8080"
    assert "cf-container-target-port" not in original.headers


def test_an_absolute_url_string_keeps_its_host() -> None:
    assert str(build_request("https://example.com/x/../y").url) == "https://example.com/y"
    with pytest.raises(LunoraError, match="neither a path"):
        build_request("ftp://example.com/x")


def test_only_strings_with_replayable_bodies_are_replayable() -> None:
    async def stream():  # type: ignore[no-untyped-def]
        yield b""

    assert is_replayable("/x", None)
    assert is_replayable("/x", b"a")
    assert is_replayable("/x", "a")
    assert not is_replayable("/x", stream())
    assert not is_replayable(httpx.Request("GET", "http://container/"), None)
