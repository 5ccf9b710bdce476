"""Bounded body reads: a prefix peeked without taking the caller's body, and a capped whole read."""

from __future__ import annotations

import codecs
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class CappedBody:
    text: str
    # True when the body had bytes left once the cap was reached.
    overflowed: bool


def _already_read(response: httpx.Response) -> bytes | None:
    try:
        return response.content
    except httpx.ResponseNotRead:
        return None


async def read_capped(response: httpx.Response, limit: int) -> CappedBody:
    """At most `limit` bytes of the (decoded) body, as text; the part of a chunk that fits is kept.

    The rest is never pulled: the response is closed once the cap is reached.
    """
    content = _already_read(response)
    if content is not None:
        return CappedBody(_utf8(content[:limit]), overflowed=len(content) > limit)
    collected = bytearray()
    overflowed = False
    try:
        async for chunk in response.aiter_bytes():
            room = limit - len(collected)
            if len(chunk) > room:
                collected += chunk[:room]
                overflowed = True
                break
            collected += chunk
    finally:
        await response.aclose()
    return CappedBody(_utf8(bytes(collected)), overflowed)


def _utf8(data: bytes) -> str:
    # A multi-byte character cut by the cap is held back, as a streaming decoder does.
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(data, final=False)


class _PrefixedStream(httpx.AsyncByteStream):
    """The peeked raw chunks, then the rest of the original stream."""

    def __init__(self, head: list[bytes], rest: AsyncIterator[bytes], original: httpx.Response) -> None:
        self._head = head
        self._rest = rest
        self._original = original

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._head:
            yield chunk
        self._head = []
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        await self._original.aclose()


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:  # a response built by hand (the test double) has none
        return None


def _decode_prefix(raw: bytes, encoding: str) -> bytes | None:
    """The decoded start of a body with this content-encoding; None when it cannot be decoded."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(raw)
        if encoding == "deflate":
            try:
                return zlib.decompressobj().decompress(raw)
            except zlib.error:
                return zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw)
    except zlib.error:
        return None
    return None


async def peek_prefix(response: httpx.Response, limit: int) -> tuple[httpx.Response, str | None]:
    """The first `limit` bytes of the body as text, and a response that still yields the whole body.

    Reading stops once `limit` bytes arrived, so a large or endless application error is never
    drained. None for the text when the body cannot be read or decoded.
    """
    content = _already_read(response)
    if content is not None:
        return response, _utf8(content[:limit])
    head: list[bytes] = []
    size = 0
    raw = response.aiter_raw()
    try:
        while size < limit:
            try:
                chunk = await raw.__anext__()
            except StopAsyncIteration:
                break
            head.append(chunk)
            size += len(chunk)
    except Exception:
        await response.aclose()
        return response, None
    rebuilt = httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=_PrefixedStream(head, raw, response),
        request=_request_of(response),
        extensions=response.extensions,
    )
    decoded = _decode_prefix(b"".join(head), response.headers.get("content-encoding", ""))
    return rebuilt, None if decoded is None else _utf8(decoded[:limit])
