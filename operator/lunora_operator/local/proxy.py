"""Proxying a request to an instance: bodies streamed both ways (never held whole), WebSockets
bridged frame by frame, each frame renewing the instance's activity as Lunora's Durable Object does.
The instance sees `Host: container`, as behind Cloudflare."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from lunora_operator.local import errors, texts
from lunora_operator.local.probes import CONTAINER_HOST

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host",
    )
)  # fmt: skip
WEBSOCKET_HANDSHAKE = frozenset(
    h.lower()
    for h in (
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Extensions",
        "Sec-WebSocket-Protocol",
    )
)
CHUNK = 64 * 1024
RESERVED_CLOSE_CODES = (1005, 1006)


def _forwarded(headers: CIMultiDictProxy[str], drop: frozenset[str] = frozenset()) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        lowered = name.lower()
        if lowered not in HOP_BY_HOP and lowered not in drop:
            out.add(name, value)
    return out


def is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def _connect_error(error: Exception, port: int) -> errors.Unavailable:
    if isinstance(error, aiohttp.ClientConnectorError):
        return errors.proxy_failed(texts.NOT_LISTENING.format(port=port))
    if isinstance(error, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionResetError)):
        return errors.Unavailable(texts.DISCONNECTED)
    return errors.proxy_failed(str(error) or type(error).__name__)


async def http(
    request: web.Request, session: aiohttp.ClientSession, ip: str, port: int, path: str
) -> web.StreamResponse:
    headers = _forwarded(request.headers)
    headers["Host"] = CONTAINER_HOST
    body = request.content if request.body_exists else None
    try:
        upstream = await session.request(
            request.method,
            URL(f"http://{ip}:{port}{path}", encoded=True),
            headers=headers,
            data=body,
            allow_redirects=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
        )
    except (aiohttp.ClientError, OSError) as error:
        raise _connect_error(error, port) from None
    try:
        response = web.StreamResponse(
            status=upstream.status, reason=upstream.reason, headers=_forwarded(upstream.headers)
        )
        if upstream.headers.get("Content-Length") is not None:
            response.content_length = int(upstream.headers["Content-Length"])
        await response.prepare(request)
        async for chunk in upstream.content.iter_chunked(CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response
    except ConnectionResetError:  # the caller went away mid-response: nothing left to answer
        return response
    finally:
        upstream.release()


async def websocket(
    request: web.Request,
    session: aiohttp.ClientSession,
    ip: str,
    port: int,
    path: str,
    activity: Callable[[], None],
) -> web.StreamResponse:
    headers = _forwarded(request.headers, WEBSOCKET_HANDSHAKE)
    headers["Host"] = CONTAINER_HOST
    protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    try:
        upstream = await session.ws_connect(
            URL(f"http://{ip}:{port}{path}", encoded=True),
            headers=headers,
            protocols=protocols,
            autoping=True,
            max_msg_size=0,
        )
    except aiohttp.WSServerHandshakeError as refused:
        return web.Response(status=refused.status, text=refused.message)
    except (aiohttp.ClientError, OSError) as error:
        raise _connect_error(error, port) from None
    client = web.WebSocketResponse(
        protocols=(upstream.protocol,) if upstream.protocol else (), max_msg_size=0
    )
    try:
        await client.prepare(request)
        await _bridge(client, upstream, activity)
    finally:
        await upstream.close()
    return client


async def _pump(source: Any, sink: Any, activity: Callable[[], None]) -> tuple[int, str]:
    """Forwards frames until `source` closes; returns its close code and reason."""
    async for message in source:
        activity()
        if message.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        elif message.type == aiohttp.WSMsgType.ERROR:
            return 1011, "WebSocket error"
    code = source.close_code or 1000
    return (1000 if code in RESERVED_CLOSE_CODES else code), ""


async def _bridge(
    client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse, activity: Callable[[], None]
) -> None:
    inbound = asyncio.ensure_future(_pump(client, upstream, activity))
    outbound = asyncio.ensure_future(_pump(upstream, client, activity))
    done, pending = await asyncio.wait((inbound, outbound), return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    code, reason = next(iter(done)).result()
    closing = upstream if inbound in done else client
    await closing.close(code=code, message=reason.encode())
