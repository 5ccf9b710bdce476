"""Pods as the API serves them, and an in-process proxy in front of local test servers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from lunora_operator.local.egress.annotations import (
    APP_LABEL,
    CONTAINER_LABEL,
    INSTANCE_ROLE,
    ROLE_LABEL,
    rules_annotations,
)
from lunora_operator.local.egress.ca import CaKeyPair, LeafIssuer, generate_ca
from lunora_operator.local.egress.decisions import DecisionRecorder
from lunora_operator.local.egress.instances import InstanceDirectory
from lunora_operator.local.egress.proxy import EgressProxy
from lunora_operator.local.egress.upstream import OwnAddresses, Upstream, UpstreamSettings


def pod(
    uid: str,
    ip: str | None,
    *,
    name: str | None = None,
    phase: str = "Running",
    deleting: bool = False,
    annotations: Mapping[str, str] | None = None,
    container: str = "web",
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "uid": uid,
        "name": name or f"pod-{uid}",
        "namespace": "ns",
        "labels": {APP_LABEL: "demo", ROLE_LABEL: INSTANCE_ROLE, CONTAINER_LABEL: container},
        "annotations": dict(annotations or {}),
    }
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": metadata, "status": {"phase": phase, **({"podIP": ip} if ip else {})}}


def declared(**rules: Any) -> dict[str, str]:
    return rules_annotations(
        enable_internet=rules.get("enable_internet"),
        allowed_hosts=rules.get("allowed_hosts"),
        denied_hosts=rules.get("denied_hosts"),
        intercept_https=rules.get("intercept_https"),
    )


def echo_app() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(
            text=f"{request.method} {request.host} {request.path_qs} {len(body)}",
            headers={"X-Upstream": "yes"},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@dataclass
class Harness:
    directory: InstanceDirectory
    recorder: DecisionRecorder
    proxy_url: str
    proxy_port: int
    http_port: int
    https_port: int
    app_ca: CaKeyPair
    upstream_ca: CaKeyPair
    upstream: Upstream

    def client_tls(self, ca: CaKeyPair) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=ca.cert_pem.decode())


async def _site(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    return runner, runner.addresses[0][1]


HOSTS = ("a.allowed.test", "b.allowed.test", "other.test", "denied.test", "secure.allowed.test")


@contextlib.asynccontextmanager
async def harness(tmp_path: Any) -> AsyncIterator[Harness]:
    upstream_ca = generate_ca("upstream test CA")
    app_ca = generate_ca("app CA")
    http_runner, http_port = await _site(echo_app())
    upstream_issuer = LeafIssuer(upstream_ca)

    server_tls = upstream_issuer.context("secure.allowed.test")
    https_runner, https_port = await _site(echo_app(), server_tls)
    ca_file = tmp_path / "upstream-ca.pem"
    ca_file.write_bytes(upstream_ca.cert_pem)
    directory = InstanceDirectory()
    recorder = DecisionRecorder()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    upstream = Upstream(
        UpstreamSettings(
            static_hosts=dict.fromkeys(HOSTS, "127.0.0.1"),
            ca_file=str(ca_file),
            own=OwnAddresses((("127.0.0.1", port),)),
            refused_hosts=("router.refused.test",),
        )
    )
    proxy = EgressProxy(directory, recorder, upstream, LeafIssuer(app_ca), client_wait=0.2)
    server = await asyncio.start_server(proxy.handle, sock=listener)
    try:
        yield Harness(
            directory, recorder, f"http://127.0.0.1:{port}", port, http_port, https_port, app_ca, upstream_ca,
            upstream,
        )  # fmt: skip
    finally:
        server.close()
        await upstream.close()
        await http_runner.cleanup()
        await https_runner.cleanup()
