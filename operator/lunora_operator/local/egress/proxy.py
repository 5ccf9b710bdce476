"""The enforcing forward proxy: HTTP requests in absolute form and CONNECT tunnels, each decided
by the rules of the instance Pod the connection comes from.

- HTTP: every request is decided by its host (Cloudflare intercepts all HTTP).
- CONNECT with interceptHttps: the tunnel is terminated with a certificate from the app's CA and
  every request inside is decided by its host, as Cloudflare's HTTPS interception does.
- CONNECT without it: Cloudflare does not see inside TLS, so the tunnel is decided by
  enableInternet alone.

A refusal is Cloudflare's: status 520, body `Origin is disallowed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import h11
from multidict import CIMultiDict
from yarl import URL

from lunora_operator.local.egress import rules as r
from lunora_operator.local.egress.ca import LeafIssuer
from lunora_operator.local.egress.decisions import REFUSED_CLIENTS, Channel, DecisionRecorder
from lunora_operator.local.egress.instances import Instance, InstanceDirectory, UnknownInstance
from lunora_operator.local.egress.upstream import Upstream, UpstreamRefused, hop_by_hop

logger = logging.getLogger("lunora_operator.egress")

DISALLOWED_STATUS = 520
DISALLOWED_BODY = b"Origin is disallowed"
# Also the reason phrase: a refused CONNECT shows clients only its status line.
DISALLOWED_REASON = DISALLOWED_BODY
READ_SIZE = 65536


class ClientGone(Exception):
    pass


class HttpConnection:
    """One client connection, server side, over h11."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, idle_timeout: float
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.SERVER)
        self.idle_timeout = idle_timeout

    async def next_event(self) -> h11.Event | type[h11.PAUSED]:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            data = await asyncio.wait_for(self.reader.read(READ_SIZE), self.idle_timeout)
            self.h11.receive_data(data)

    async def send(self, *events: h11.Event) -> None:
        for event in events:
            data = self.h11.send(event)
            if data:
                self.writer.write(data)
        await self.writer.drain()

    async def respond(self, status: int, body: bytes, reason: bytes = b"") -> None:
        headers = [("content-type", "text/plain;charset=UTF-8"), ("content-length", str(len(body)))]
        await self.send(
            h11.Response(status_code=status, headers=headers, reason=reason),
            h11.Data(data=body),
            h11.EndOfMessage(),
        )

    async def drain_request_body(self) -> None:
        while self.h11.their_state is h11.SEND_BODY:
            event = await self.next_event()
            if isinstance(event, h11.ConnectionClosed):
                raise ClientGone

    async def request_body(self) -> AsyncIterator[bytes]:
        while True:
            event = await self.next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:
                raise ClientGone

    def reusable(self) -> bool:
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def url(self) -> URL:
        return URL.build(scheme=self.scheme, host=self.host.strip("[]"), port=self.port, encoded=True).join(
            URL(self.path, encoded=True)
        )


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def split_authority(authority: str, default_port: int) -> tuple[str, int]:
    """host[:port] → (host, port); IPv6 hosts keep their brackets, as a URL's host does."""
    host, port_text = authority, ""
    if authority.startswith("["):
        end = authority.find("]")
        host, rest = (authority[: end + 1], authority[end + 1 :]) if end != -1 else ("", "")
        port_text = rest[1:] if rest.startswith(":") else rest
    elif ":" in authority:
        host, _, port_text = authority.rpartition(":")
    port = int(port_text) if port_text.isdigit() else (default_port if port_text == "" else 0)
    if not host or not 0 < port < 65536:
        raise ValueError(f"bad authority {authority!r}: host[:port] expected")
    return host.lower(), port


class EgressProxy:
    def __init__(
        self,
        directory: InstanceDirectory,
        recorder: DecisionRecorder,
        upstream: Upstream,
        issuer: LeafIssuer | None,
        client_wait: float = 5.0,
        idle_timeout: float = 120.0,
    ) -> None:
        self.directory = directory
        self.recorder = recorder
        self.upstream = upstream
        self.issuer = issuer
        self.client_wait = client_wait
        self.idle_timeout = idle_timeout

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = HttpConnection(reader, writer, self.idle_timeout)
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if peer else ""
        try:
            instance = await self.directory.wait_resolve(ip, self.client_wait)
            if instance is None:
                REFUSED_CLIENTS.inc()
                logger.warning("egress refused: no lunora instance Pod holds the client address %s", ip)
                await self._refuse_client(conn, ip)
                return
            await self._serve(conn, instance, None)
        except (ClientGone, ConnectionError, TimeoutError, h11.ProtocolError, UnknownInstance) as error:
            logger.debug("egress connection from %s ended: %r", ip, error)
        except Exception:
            logger.exception("egress connection from %s failed", ip)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _refuse_client(self, conn: HttpConnection, ip: str) -> None:
        event = await conn.next_event()
        if isinstance(event, h11.Request):
            await conn.respond(403, f"egress proxy: no lunora instance Pod holds the address {ip}\n".encode())

    async def _serve(self, conn: HttpConnection, instance: Instance, tunnel: tuple[str, int] | None) -> None:
        """Requests on one connection; `tunnel` is the CONNECT authority when inside intercepted TLS."""
        while True:
            try:
                event = await conn.next_event()
            except h11.RemoteProtocolError as error:
                if conn.h11.our_state is h11.IDLE:
                    await conn.respond(400, f"egress proxy: bad request: {error}\n".encode())
                return
            if not isinstance(event, h11.Request):
                return
            if event.method == b"CONNECT" and tunnel is None:
                await self._connect(conn, instance, event)
                return
            await self._request(conn, instance, event, tunnel)
            if not conn.reusable():
                return
            conn.h11.start_next_cycle()

    def _target(self, request: h11.Request, tunnel: tuple[str, int] | None) -> Target:
        raw = request.target.decode("ascii", "replace")
        if tunnel is not None:
            host_header = dict(request.headers).get(b"host", b"").decode("ascii", "replace")
            host, port = split_authority(host_header or tunnel[0], tunnel[1])
            if not host_header:
                port = tunnel[1]
            return Target("https", host, port, raw if raw.startswith("/") else "/")
        url = URL(raw, encoded=True)
        if not url.absolute or url.scheme not in ("http", "https") or not url.raw_host:
            raise ValueError(
                f"egress proxy: {raw!r} is not an absolute http(s) URL; send requests through the proxy "
                "(HTTP_PROXY / http_proxy)"
            )
        host = url.raw_host.lower()
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        path = url.raw_path_qs or "/"
        return Target(url.scheme, host, url.explicit_port or _default_port(url.scheme), path)

    def _rules(self, instance: Instance) -> r.InstanceRules | None:
        rules = self.directory.rules(instance.uid)
        if rules is None:
            logger.error(
                "egress refused for %s: its egress annotations cannot be read: %s",
                instance.label,
                instance.annotation_error,
            )
        return rules

    async def _request(
        self, conn: HttpConnection, instance: Instance, request: h11.Request, tunnel: tuple[str, int] | None
    ) -> None:
        try:
            target = self._target(request, tunnel)
        except ValueError as error:
            await conn.drain_request_body()
            await conn.respond(400, f"{error}\n".encode())
            return
        rules = self._rules(instance)
        if rules is None:
            decision = r.Decision(False, r.Rule.DEFAULT)
            channel = Channel.HTTP
        elif target.scheme == "https" and tunnel is None and not rules.effective.intercept_https:
            # A client that asks the proxy for an https URL in plain text (busybox wget does):
            # HTTPS Cloudflare does not intercept.
            decision, channel = r.evaluate_tls_tunnel(rules.effective), Channel.HTTPS_TUNNEL
        else:
            channel = Channel.HTTP if target.scheme == "http" else Channel.HTTPS_INTERCEPTED
            decision = r.evaluate(rules.effective, target.host)
        self.recorder.record(instance, target.host, channel, decision)
        if not decision.allowed:
            await conn.drain_request_body()
            await conn.respond(DISALLOWED_STATUS, DISALLOWED_BODY, DISALLOWED_REASON)
            return
        await self._forward(conn, request, target)

    async def _forward(self, conn: HttpConnection, request: h11.Request, target: Target) -> None:
        skip = hop_by_hop([(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers])
        skip.add("host")
        headers: CIMultiDict[str] = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.headers
            if k.decode("latin-1") not in skip
        )
        has_body = any(k in (b"content-length", b"transfer-encoding") for k, _ in request.headers)
        started = False
        try:
            await self.upstream.resolve(target.host, target.port)  # refuses the proxy itself
            async with self.upstream.session.request(
                request.method.decode("ascii"),
                target.url,
                headers=headers,
                data=conn.request_body() if has_body else None,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            ) as response:
                if not has_body:
                    await conn.drain_request_body()
                drop = hop_by_hop(
                    [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
                )
                out = [(k, v) for k, v in response.raw_headers if k.decode("latin-1").lower() not in drop]
                reason = (response.reason or "").encode("latin-1", "replace")
                started = True
                await conn.send(h11.Response(status_code=response.status, headers=out, reason=reason))
                async for chunk in response.content.iter_any():
                    await conn.send(h11.Data(data=chunk))
                await conn.send(h11.EndOfMessage())
        except UpstreamRefused as error:
            await self._upstream_failed(conn, started, 403, f"egress proxy: {error}")
        except aiohttp.ClientConnectorError as error:
            # The resolver's guard, when a name resolved differently the second time.
            refused = isinstance(error.os_error, UpstreamRefused)
            await self._upstream_failed(conn, started, 403 if refused else 502, f"egress proxy: {error}")
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            await self._upstream_failed(
                conn, started, 502, f"egress proxy: {target.host}:{target.port}: {error}"
            )

    async def _upstream_failed(self, conn: HttpConnection, started: bool, status: int, text: str) -> None:
        logger.info("%s", text)
        if started or conn.h11.our_state is not h11.SEND_RESPONSE:
            raise ClientGone  # the response has begun: all we can do is close
        await conn.drain_request_body()
        await conn.respond(status, f"{text}\n".encode())

    async def _connect(self, conn: HttpConnection, instance: Instance, request: h11.Request) -> None:
        try:
            host, port = split_authority(request.target.decode("ascii", "replace"), 443)
        except ValueError as error:
            await conn.respond(400, f"egress proxy: CONNECT {error}\n".encode())
            return
        rules = self._rules(instance)
        if rules is not None and rules.effective.intercept_https:
            await self._intercept(conn, instance, host, port)
            return
        decision = (
            r.evaluate_tls_tunnel(rules.effective) if rules is not None else r.Decision(False, r.Rule.DEFAULT)
        )
        self.recorder.record(instance, host, Channel.HTTPS_TUNNEL, decision)
        if not decision.allowed:
            await conn.respond(DISALLOWED_STATUS, DISALLOWED_BODY, DISALLOWED_REASON)
            return
        try:
            upstream_reader, upstream_writer = await self.upstream.open_tunnel(host, port)
        except UpstreamRefused as error:
            await conn.respond(403, f"egress proxy: {error}\n".encode())
            return
        except (OSError, TimeoutError) as error:
            await conn.respond(502, f"egress proxy: {host}:{port}: {error}\n".encode())
            return
        try:
            await conn.send(h11.Response(status_code=200, headers=[], reason=b"Connection Established"))
            pending, _ = conn.h11.trailing_data
            if pending:
                upstream_writer.write(pending)
            await _pipe_both(conn.reader, conn.writer, upstream_reader, upstream_writer)
        finally:
            upstream_writer.close()

    async def _intercept(self, conn: HttpConnection, instance: Instance, host: str, port: int) -> None:
        if self.issuer is None:
            logger.error("egress: %s asks for interceptHttps but this proxy has no CA", instance.label)
            await conn.respond(
                502, b"egress proxy: interceptHttps needs the proxy's CA, which is not configured\n"
            )
            return
        await conn.send(h11.Response(status_code=200, headers=[], reason=b"Connection Established"))
        pending, _ = conn.h11.trailing_data
        if pending:
            return  # TLS bytes sent before our answer: the client is not waiting for it, give up
        await conn.writer.start_tls(self.issuer.context(host))
        inner = HttpConnection(conn.reader, conn.writer, self.idle_timeout)
        await self._serve(inner, instance, (host, port))


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def _pipe_both(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    await asyncio.gather(_copy(client_reader, upstream_writer), _copy(upstream_reader, client_writer))
