"""`lunora-operator egress-proxy`: one app's egress proxy and its control API, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from aiohttp import web
from kubernetes import client, config

from lunora_operator.local import names
from lunora_operator.local.egress.ca import LeafIssuer
from lunora_operator.local.egress.control import control_app, health_app
from lunora_operator.local.egress.decisions import DecisionRecorder
from lunora_operator.local.egress.instances import InstanceDirectory
from lunora_operator.local.egress.kube_edge import PodRuntimeStore, ensure_ca_secret
from lunora_operator.local.egress.proxy import EgressProxy
from lunora_operator.local.egress.upstream import OwnAddresses, Upstream, UpstreamSettings
from lunora_operator.local.informer import Informer

logger = logging.getLogger("lunora_operator.egress")


@dataclass(frozen=True)
class ProxySettings:
    namespace: str
    app: str
    listen: tuple[str, int]
    control: tuple[str, int]
    kubeconfig: Path | None = None
    health: tuple[str, int] | None = None
    """Where GET /healthz is served alone (for the kubelet's probe, which cannot reach a control API
    on loopback); it answers once the proxy listens."""
    static_hosts: Mapping[str, str] = field(default_factory=dict)
    app_uid: str | None = None
    """The LunoraApp's uid: its CA Secret is then owned by it (collected with it)."""
    refused_hosts: tuple[str, ...] = ()
    """Names (the router's Service) whose addresses no instance may reach through the proxy."""
    upstream_ca_file: Path | None = None
    client_wait: float = 5.0


@dataclass
class RunningProxy:
    proxy_address: tuple[str, int]
    control_address: tuple[str, int]
    directory: InstanceDirectory
    recorder: DecisionRecorder


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def api_client(kubeconfig: Path | None) -> client.ApiClient:
    configuration = client.Configuration()
    if kubeconfig is not None:
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


@contextlib.asynccontextmanager
async def running_proxy(settings: ProxySettings) -> AsyncIterator[RunningProxy]:
    """Starts everything, waits until the Pod list is read, yields the bound addresses."""
    api = api_client(settings.kubeconfig)
    directory = InstanceDirectory()
    recorder = DecisionRecorder()
    directory.on_gone(recorder.forget)
    pair = await asyncio.to_thread(ensure_ca_secret, api, settings.namespace, settings.app, settings.app_uid)
    watch = Informer(
        "egress instance Pods",
        partial(client.CoreV1Api(api).list_namespaced_pod, settings.namespace),
        directory.replace_all,
        directory.apply,
        asyncio.get_running_loop(),
        {"label_selector": names.instance_selector(settings.app)},
    )
    watch.start()
    control_runner = web.AppRunner(control_app(directory, recorder, PodRuntimeStore(api)), access_log=None)
    await control_runner.setup()
    control_site = web.TCPSite(control_runner, settings.control[0], settings.control[1])
    await control_site.start()
    control_address = control_runner.addresses[0][:2]
    upstream: Upstream | None = None
    server: asyncio.Server | None = None
    health_runner: web.AppRunner | None = None
    refusals: asyncio.Future[None] | None = None
    try:
        if not await watch.wait_synced(30):
            raise TimeoutError(
                f"egress: could not list the instance Pods of {settings.namespace}/{settings.app}"
            )
        # Bound before the upstream is built: connections back to either port are refused.
        listener = socket.create_server(settings.listen, family=_family(settings.listen[0]), reuse_port=False)
        proxy_address = listener.getsockname()[:2]
        upstream = Upstream(
            UpstreamSettings(
                static_hosts={k.lower(): v for k, v in settings.static_hosts.items()},
                ca_file=str(settings.upstream_ca_file) if settings.upstream_ca_file else None,
                refused_hosts=settings.refused_hosts,
                own=OwnAddresses(
                    ((settings.control[0], control_address[1]), (settings.listen[0], proxy_address[1]))
                ),
            )
        )
        refusals = asyncio.ensure_future(upstream.keep_refused_current())
        proxy = EgressProxy(directory, recorder, upstream, LeafIssuer(pair), settings.client_wait)
        server = await asyncio.start_server(proxy.handle, sock=listener)
        if settings.health is not None:
            health_runner = web.AppRunner(health_app(), access_log=None)
            await health_runner.setup()
            await web.TCPSite(health_runner, settings.health[0], settings.health[1]).start()
        logger.info(
            "egress proxy for %s/%s on %s:%s, control API on http://%s:%s",
            settings.namespace,
            settings.app,
            *proxy_address,
            *control_address,
        )
        yield RunningProxy(proxy_address, control_address, directory, recorder)
    finally:
        if refusals is not None:
            refusals.cancel()
        watch.stop()
        if health_runner is not None:
            await health_runner.cleanup()
        if server is not None:
            server.close()
        await control_runner.cleanup()
        if upstream is not None:
            await upstream.close()
        api.close()  # type: ignore[no-untyped-call]


async def serve(settings: ProxySettings, ready: asyncio.Event | None = None) -> None:
    async with running_proxy(settings):
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()


def parse_address(text: str, option: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{option} must be host:port (port 0 picks a free one), not {text!r}")
    return host.strip("[]"), int(port)


def parse_static_hosts(entries: list[str]) -> dict[str, str]:
    import ipaddress

    table: dict[str, str] = {}
    for entry in entries:
        host, _, ip = entry.partition("=")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ValueError(f"--resolve must be HOST=IP, not {entry!r}") from None
        if not host:
            raise ValueError(f"--resolve must be HOST=IP, not {entry!r}")
        table[host.lower()] = ip
    return table
