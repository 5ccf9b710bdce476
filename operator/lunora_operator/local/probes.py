"""Port checks and `readyOn` probes over the Pod network."""

from __future__ import annotations

import aiohttp

from lunora_operator.local import texts

CONTAINER_HOST = "container"
"""The host a container sees in requests from its Durable Object (`http://container/...`)."""


def ping_target(ping_endpoint: str) -> tuple[str, str]:
    """Host and path Cloudflare's port check asks: it fetches `http://<pingEndpoint>`, so `ping`
    is host `ping` and path `/`, and `host/path` splits at the first slash."""
    host, _, path = ping_endpoint.lstrip("/").partition("/")
    return host or CONTAINER_HOST, "/" + path


class Probes:
    """HTTP probes on their own connections (never reused), so a probe sees the port as it is now."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True, limit=0),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def probe_port(self, ip: str, port: int, ping_endpoint: str, limit: float) -> str | None:
        host, path = ping_target(ping_endpoint)
        try:
            async with self._client().get(
                f"http://{ip}:{port}{path}",
                headers={"Host": host},
                timeout=aiohttp.ClientTimeout(total=limit),
                allow_redirects=False,
            ):
                return None
        except aiohttp.ClientConnectorError:
            return texts.NOT_LISTENING.format(port=port)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            return f"port {port}: {type(error).__name__} {error}".strip()

    async def probe_ready(self, ip: str, port: int, path: str, limit: float) -> int | None:
        try:
            async with self._client().get(
                f"http://{ip}:{port}{path}",
                headers={"Host": CONTAINER_HOST},
                timeout=aiohttp.ClientTimeout(total=limit),
                allow_redirects=False,
            ) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None
