"""`lunora-operator router`: one app's data plane, in the shape of KEDA's HTTP interceptor or
Knative's activator. It reads the app's LunoraContainers and instance Pods from the API server
(list and watch), serves `/<container>/<id>/<path>` and the lifecycle API under `/_api/`, and
keeps no state the Pods do not also hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import aiohttp
from aiohttp import web
from kubernetes import client, config

from lunora_operator.api.base import GROUP, VERSION
from lunora_operator.local import errors, lifecycle_api, names, proxy
from lunora_operator.local.backend import InstanceBackend
from lunora_operator.local.catalog import Catalog
from lunora_operator.local.context import Context
from lunora_operator.local.destination import Reply, destination
from lunora_operator.local.egress_forward import EgressControl
from lunora_operator.local.fleet import Fleet
from lunora_operator.local.front import FrontServer
from lunora_operator.local.informer import Informer
from lunora_operator.local.pod_exec import KubePodExecutor
from lunora_operator.local.pod_spec import PodSettings
from lunora_operator.local.pods import KubeObjects
from lunora_operator.local.probes import Probes
from lunora_operator.local.routing import TARGET_PORT_HEADER
from lunora_operator.local.settings import Budgets, LoopClock

log = logging.getLogger(__name__)
SYNC_SECONDS = 30.0


@dataclass(frozen=True)
class RouterSettings:
    namespace: str
    app: str
    host: str = "0.0.0.0"
    port: int = 8080
    kubeconfig: Path | None = None
    budgets: Budgets = field(default_factory=Budgets)
    pod_settings: PodSettings = field(default_factory=PodSettings)
    access_log: bool = False
    egress_control: str | None = None
    """The egress proxy's control API, where runtime egress calls go; None: not served."""


class RouterBackend(KubeObjects, Probes):
    """The instance backend of a running router: Kubernetes objects and HTTP probes."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        KubeObjects.__init__(self, api, namespace)
        Probes.__init__(self)


async def serve_request(
    fleet: Fleet, session: aiohttp.ClientSession, request: web.Request
) -> web.StreamResponse:
    """aiohttp's way in: WebSockets (and other upgrades) the forwarding path hands over."""
    found = destination(fleet, request.raw_path, request.headers.get(TARGET_PORT_HEADER))
    if isinstance(found, Reply):
        return lifecycle_api.response(found)
    instance = found.instance
    try:
        ip = await instance.open()
    except errors.Unavailable as failure:
        return lifecycle_api.answer(failure)
    try:
        if proxy.is_websocket(request):
            return await proxy.websocket(request, session, ip, found.port, found.path, instance.renew)
        return await proxy.http(request, session, ip, found.port, found.path)
    except errors.Unavailable as failure:
        return lifecycle_api.answer(failure)
    finally:
        instance.leave()


def build_app(
    fleet: Fleet,
    session: aiohttp.ClientSession,
    ready: asyncio.Event,
    services: lifecycle_api.Services = lifecycle_api.NO_SERVICES,
) -> web.Application:
    async def dispatch(request: web.Request) -> web.StreamResponse:
        if request.raw_path.startswith(lifecycle_api.PREFIX):
            return await lifecycle_api.handle(fleet, ready.is_set, request, services)
        return await serve_request(fleet, session, request)

    app = web.Application(client_max_size=0)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


@asynccontextmanager
async def serving(
    fleet: Fleet,
    ready: asyncio.Event,
    host: str,
    port: int,
    access_log: bool = False,
    services: lifecycle_api.Services = lifecycle_api.NO_SERVICES,
) -> AsyncIterator[FrontServer]:
    """The router's HTTP side on host:port: the forwarding path in front, the aiohttp application
    (lifecycle API with exec and the egress calls, WebSockets) behind it."""
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, enable_cleanup_closed=True),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    runner = web.AppRunner(
        build_app(fleet, session, ready, services),
        access_log=log if access_log else None,
        handle_signals=False,
    )
    await runner.setup()
    assert runner.server is not None
    front = FrontServer(fleet, runner.server, log if access_log else None)
    try:
        await front.start(host, port)
        yield front
    finally:
        await front.close()
        await runner.cleanup()
        await session.close()


def api_client(kubeconfig: Path | None) -> client.ApiClient:
    """From the kubeconfig given, else the Pod's service account."""
    configuration = client.Configuration()
    if kubeconfig is not None:
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


@asynccontextmanager
async def running_router(
    settings: RouterSettings, backend: InstanceBackend | None = None
) -> AsyncIterator[None]:
    """The router serving on settings.host:port until the context ends (Pods are left running)."""
    loop = asyncio.get_running_loop()
    api = api_client(settings.kubeconfig)
    kube = RouterBackend(api, settings.namespace)
    fleet = Fleet(Context(backend or kube, LoopClock(), settings.budgets, settings.pod_settings))
    catalog = Catalog(fleet, settings.app)
    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    crs = partial(custom.list_namespaced_custom_object, GROUP, VERSION, settings.namespace)
    informers = [
        Informer("lunoraapps", partial(crs, "lunoraapps"), catalog.on_apps, catalog.on_app_event, loop,
                 {"field_selector": f"metadata.name={settings.app}"}),
        Informer("lunoracontainers", partial(crs, "lunoracontainers"), catalog.on_containers, catalog.on_container_event, loop),
    ]  # fmt: skip
    pods = Informer(
        "pods",
        partial(core.list_namespaced_pod, settings.namespace),
        fleet.on_pods,
        fleet.on_pod_event,
        loop,
        {"label_selector": names.instance_selector(settings.app)},
    )
    ready = asyncio.Event()
    executor = (
        KubePodExecutor(api.configuration, settings.namespace)
        if settings.pod_settings.exec_helper_image is not None
        else None
    )
    control = aiohttp.ClientSession() if settings.egress_control else None
    egress = EgressControl(settings.egress_control, control) if settings.egress_control and control else None
    try:
        for informer in informers:
            informer.start()
        for informer in informers:  # Pods map to containers: read those first
            if not await informer.wait_synced(SYNC_SECONDS):
                log.warning("%s not read within %ss; serving what is known", informer.what, SYNC_SECONDS)
        pods.start()
        if await pods.wait_synced(SYNC_SECONDS):
            ready.set()
        async with serving(
            fleet,
            ready,
            settings.host,
            settings.port,
            settings.access_log,
            lifecycle_api.Services(executor, egress),
        ):
            waiting = None if ready.is_set() else asyncio.ensure_future(_when_synced(pods, ready))
            yield
            if waiting is not None:
                waiting.cancel()
    finally:
        for informer in [*informers, pods]:
            informer.stop()
        if executor is not None:
            await executor.close()
        if control is not None:
            await control.close()
        await kube.close()
        api.close()  # type: ignore[no-untyped-call]


async def _when_synced(pods: Informer, ready: asyncio.Event) -> None:
    while not await pods.wait_synced(SYNC_SECONDS):
        pass
    ready.set()


async def run_router(settings: RouterSettings) -> None:
    async with running_router(settings):
        log.info(
            "router for app %s/%s on %s:%s", settings.namespace, settings.app, settings.host, settings.port
        )
        await asyncio.Event().wait()
