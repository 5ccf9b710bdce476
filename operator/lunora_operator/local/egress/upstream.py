"""How the proxy reaches the hosts it lets through: name resolution (the system's, or a fixed
table for tests), and a refusal to connect to the proxy's own host (its Pod: the router's API and
the control API listen there) or the router's Service, which would let an instance change its own
rules or reach other instances through the proxy."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

REFUSED_REFRESH_SECONDS = 30.0


class UpstreamRefused(OSError):
    """The destination is the proxy itself, or its host."""


def is_local_address(ip: str) -> bool:
    """Whether `ip` belongs to this host (a socket can be bound to it): the proxy's own Pod, and
    the router beside it in the same Pod."""
    address = ipaddress.ip_address(ip)
    if address.is_loopback or address.is_unspecified:
        return True
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((ip, 0))
        except OSError:
            return False
    return True


def is_host_internal(ip: str) -> bool:
    """Addresses no instance may reach through the proxy, whatever its rules say: the proxy's
    host (loopback, its own addresses, where the router's API listens in the same Pod) and
    link-local ones (cloud metadata services). Cloudflare's network gives a container neither."""
    address = ipaddress.ip_address(ip)
    return address.is_link_local or is_local_address(ip)


@dataclass(frozen=True)
class OwnAddresses:
    """The proxy's listening sockets; host "0.0.0.0" or "::" means every local address."""

    endpoints: tuple[tuple[str, int], ...] = ()

    def covers(self, ip: str, port: int) -> bool:
        address = ipaddress.ip_address(ip)
        for host, own_port in self.endpoints:
            if port != own_port:
                continue
            if host in ("0.0.0.0", "::", "") or address.is_loopback or address == ipaddress.ip_address(host):
                return True
        return False


@dataclass(frozen=True)
class UpstreamSettings:
    static_hosts: Mapping[str, str] = field(default_factory=dict)
    """Host name → IP address, consulted before the system resolver (tests: `*.test` names)."""
    ca_file: str | None = None
    """Trust these CAs (instead of the system's) for upstream TLS."""
    own: OwnAddresses = OwnAddresses()
    connect_timeout: float = 10.0
    refused_hosts: tuple[str, ...] = ()
    """Names whose addresses are refused like the proxy's host's (the router's Service)."""
    internal: Callable[[str], bool] = is_host_internal
    """Whether an address is the proxy's host's; `static_hosts` answers are not checked (the
    operator chose them, not an instance)."""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def _lookup(host: str, port: int) -> list[str]:
    if _is_ip(host):
        return [host]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Upstream:
    def __init__(self, settings: UpstreamSettings) -> None:
        self.settings = settings
        self.tls = ssl.create_default_context(cafile=settings.ca_file)
        self._session: aiohttp.ClientSession | None = None
        self._refused: set[str] = set()

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for host:port, never the proxy's own."""
        bare = host.strip("[]").rstrip(".").lower()
        if bare in self.settings.static_hosts:
            addresses = [self.settings.static_hosts[bare]]
        else:
            addresses = await _lookup(bare, port)
            addresses = [a for a in addresses if not self.settings.internal(a) and a not in self._refused]
            if not addresses:
                raise UpstreamRefused(f"{host}:{port} is the egress proxy's host or its router")
        allowed = [a for a in addresses if not self.settings.own.covers(a, port)]
        if not allowed:
            raise UpstreamRefused(f"{host}:{port} is the egress proxy itself")
        return allowed

    async def refresh_refused(self) -> None:
        """Looks the refused names up again (a name that does not resolve refuses nothing). Kept
        out of the request path: where no DNS answers, a lookup can take seconds."""
        found: set[str] = set()
        for name in self.settings.refused_hosts:
            try:
                found.update(await _lookup(name, 0))
            except OSError:
                continue
        self._refused = found

    async def keep_refused_current(self, every: float = REFUSED_REFRESH_SECONDS) -> None:
        while True:
            await self.refresh_refused()
            await asyncio.sleep(every)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=_GuardedResolver(self), ssl=self.tls, force_close=True, enable_cleanup_closed=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.settings.connect_timeout),
            )
        return self._session

    async def open_tunnel(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        addresses = await self.resolve(host, port)
        last: OSError | None = None
        for address in addresses:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(address, port), self.settings.connect_timeout
                )
            except (OSError, TimeoutError) as error:
                last = (
                    error
                    if isinstance(error, OSError)
                    else OSError(f"timed out connecting to {address}:{port}")
                )
        assert last is not None
        raise last

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class _GuardedResolver(AbstractResolver):
    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        addresses = await self._upstream.resolve(host, port)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def hop_by_hop(headers: Mapping[str, Any] | list[tuple[str, str]]) -> set[str]:
    """Header names that describe one connection and must not be forwarded."""
    names = {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name.lower() == "connection":
            names.update(token.strip().lower() for token in str(value).split(",") if token.strip())
    return names
