"""Running a command in a Pod's container through the API server's `pods/exec` subresource.

The Kubernetes streaming protocol over a WebSocket (`v5.channel.k8s.io`, else `v4`): every binary
frame starts with its channel byte — 0 stdin, 1 stdout, 2 stderr, 3 the final status (a
`metav1.Status` as JSON). The official client's `stream()` is synchronous and swaps the API
client's request function while it runs, so this speaks the protocol over aiohttp with the
credentials the API client was configured with (client certificate, bearer token refreshed by its
hook, CA bundle).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import aiohttp
from kubernetes import client

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, STATUS = 0, 1, 2, 3
STDERR_KEPT = 4096


class PodExecFailed(Exception):
    """The exec could not be run or its stream broke; the message says why, without secrets."""


@dataclass(frozen=True)
class PodExecResult:
    stdout: bytes
    stderr: bytes
    """The first bytes only (diagnostics)."""
    status: dict[str, Any]
    """The final status: `{"status": "Success"}`, or `Failure` with `message` / `reason`."""

    @property
    def succeeded(self) -> bool:
        return self.status.get("status") == "Success"


class PodExecutor(Protocol):
    async def run(
        self,
        pod: str,
        container: str,
        command: Sequence[str],
        stdin: bytes,
        stdout_limit: int,
        time_limit: float | None,
    ) -> PodExecResult:
        """Runs `command`, writes `stdin` to it, collects its output (failing past `stdout_limit`
        bytes or `time_limit` seconds); raises PodExecFailed when it cannot."""
        ...

    async def close(self) -> None: ...


def _ssl_context(configuration: client.Configuration) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class KubePodExecutor:
    """`pods/exec` in one namespace, with the API client's configuration."""

    def __init__(self, configuration: client.Configuration, namespace: str) -> None:
        self.configuration = configuration
        self.namespace = namespace
        self._ssl = _ssl_context(configuration) if configuration.host.startswith("https") else None
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))

    def url(self, pod: str, container: str, command: Sequence[str]) -> str:
        query = [("container", container), ("stdin", "true"), ("stdout", "true"), ("stderr", "true")]
        query += [("command", part) for part in command]
        base = self.configuration.host.rstrip("/")
        path = f"/api/v1/namespaces/{quote(self.namespace, safe='')}/pods/{quote(pod, safe='')}/exec"
        return f"{base}{path}?{urlencode(query)}"

    def _headers(self) -> dict[str, str]:
        # What the API client itself sends (and refreshes): the in-cluster and kubeconfig loaders
        # keep a token under `BearerToken`, older configurations under `authorization`.
        bearer = self.configuration.auth_settings().get("BearerToken")
        token = bearer.get("value") if bearer else None
        return {"Authorization": str(token)} if token else {}

    async def run(
        self,
        pod: str,
        container: str,
        command: Sequence[str],
        stdin: bytes,
        stdout_limit: int,
        time_limit: float | None,
    ) -> PodExecResult:
        try:
            async with asyncio.timeout(time_limit):
                return await self._run(pod, container, command, stdin, stdout_limit)
        except TimeoutError:
            raise PodExecFailed(f"the exec in Pod {pod} did not end within {time_limit:g}s") from None

    async def _run(
        self, pod: str, container: str, command: Sequence[str], stdin: bytes, stdout_limit: int
    ) -> PodExecResult:
        try:
            ws = await self._session.ws_connect(
                self.url(pod, container, command).replace("http", "ws", 1),
                protocols=PROTOCOLS,
                headers=self._headers(),
                ssl=self._ssl if self._ssl is not None else True,
                max_msg_size=0,
                autoping=True,
            )
        except aiohttp.WSServerHandshakeError as error:
            raise PodExecFailed(_handshake_problem(pod, error)) from None
        except (aiohttp.ClientError, OSError) as error:
            raise PodExecFailed(f"the API server did not answer the exec ({type(error).__name__})") from None
        stdout, stderr = bytearray(), bytearray()
        status: dict[str, Any] | None = None
        async with ws:
            await ws.send_bytes(bytes([STDIN]) + stdin)
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.BINARY or not message.data:
                    continue
                channel, payload = message.data[0], message.data[1:]
                if channel == STDOUT:
                    stdout += payload
                    if len(stdout) > stdout_limit:
                        raise PodExecFailed(f"the exec in Pod {pod} wrote more than {stdout_limit} bytes")
                elif channel == STDERR:
                    stderr += payload[: max(0, STDERR_KEPT - len(stderr))]
                elif channel == STATUS and payload:
                    try:
                        status = json.loads(payload)
                    except ValueError:
                        status = {"status": "Failure", "message": payload.decode(errors="replace")}
        if status is None:
            raise PodExecFailed(f"the exec stream of Pod {pod} ended without a status (the Pod may be gone)")
        return PodExecResult(bytes(stdout), bytes(stderr), status)

    async def close(self) -> None:
        await self._session.close()


def _handshake_problem(pod: str, error: aiohttp.WSServerHandshakeError) -> str:
    if error.status == 403:
        return (
            f"the API server refused the exec in Pod {pod} (403): the router's ServiceAccount needs "
            "`create` on `pods/exec`"
        )
    if error.status == 404:
        return f"Pod {pod} is gone (404)"
    return f"the API server refused the exec in Pod {pod} ({error.status} {error.message})"
