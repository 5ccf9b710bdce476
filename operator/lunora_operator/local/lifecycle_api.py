"""The router's own HTTP API, under `/_api/` (a container name never starts with `_`):

    GET  /_api/healthz                                       200 once the router has read its Pods
    GET  /_api/instances                                     every instance of every container, by state
    POST /_api/containers/<c>/instances/<id>/start           body {envVars?, entrypoint?, labels?, enableInternet?}
    POST /_api/containers/<c>/instances/<id>/stop            body {signal?}: SIGTERM (default), SIGINT or SIGKILL
    POST /_api/containers/<c>/instances/<id>/destroy
    POST /_api/containers/<c>/instances/<id>/renew           renewActivityTimeout()
    GET  /_api/containers/<c>/instances/<id>/state           getState()
    POST /_api/containers/<c>/instances/<id>/exec            body {args, command, cwd?, env?, timeoutMs?}
    POST /_api/containers/<c>/instances/<id>/allowHost       (and denyHost, removeAllowedHost,
                                                             removeDeniedHost: {hostname};
                                                             setAllowedHosts, setDeniedHosts: {hosts})
    GET  /_api/containers/<c>/egress                          the egress proxy's decision counts of
                                                             the container's running instances

The calls are those Lunora's instance handles forward to their Durable Object; the routes are
`lunora_operator.router_routes`, which the Python client reads too. `<c>` is the LunoraContainer's
name or its export name. Errors are JSON `{code, message}` with Lunora's codes (BAD_REQUEST,
NOT_FOUND, CONFLICT, INTERNAL; NOT_IMPLEMENTED with 501 for what this router does not serve),
except that a start which fails answers as a request would: the platform's status and text.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from lunora_operator import router_routes as routes
from lunora_operator.local import destination, egress_forward, errors, names
from lunora_operator.local.destination import Reply
from lunora_operator.local.egress_forward import EgressControl
from lunora_operator.local.exec import serve_exec
from lunora_operator.local.fleet import Fleet
from lunora_operator.local.instance import Instance
from lunora_operator.local.override import BadStartOptions, parse_start_options
from lunora_operator.local.pod_exec import PodExecutor

PREFIX = f"/{routes.API_PREFIX}/"
SIGNALS = {
    "SIGTERM": "SIGTERM",
    "SIGINT": "SIGTERM",
    "SIGKILL": "SIGKILL",
    "15": "SIGTERM",
    "2": "SIGTERM",
    "9": "SIGKILL",
}


def response(reply: Reply) -> web.Response:
    """A reply of the router's own, as aiohttp sends it."""
    return web.Response(
        status=reply.status,
        body=reply.body,
        headers={"Content-Type": reply.content_type, **dict(reply.headers)},
    )


def problem(status: int, code: str, message: str) -> web.Response:
    return response(destination.problem(status, code, message))


def answer(failure: errors.Unavailable) -> web.Response:
    return response(destination.answer(failure))


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise BadStartOptions("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadStartOptions("the body must be a JSON object")
    return body


async def _start(instance: Instance, request: web.Request) -> web.Response:
    await instance.start(parse_start_options(await _body(request)))
    return web.json_response(instance.state())


async def _stop(instance: Instance, request: web.Request) -> web.Response:
    signal = str((await _body(request)).get("signal", "SIGTERM")).upper()
    if signal not in SIGNALS:
        raise BadStartOptions(f"`signal` {signal} is not SIGTERM, SIGINT or SIGKILL")
    await instance.stop(SIGNALS[signal])
    return web.json_response(instance.state())


async def _destroy(instance: Instance, request: web.Request) -> web.Response:
    await instance.destroy()
    return web.json_response(instance.state())


async def _renew(instance: Instance, request: web.Request) -> web.Response:
    instance.renew()
    return web.json_response(instance.state())


async def _state(instance: Instance, request: web.Request) -> web.Response:
    return web.json_response(instance.state())


@dataclass(frozen=True)
class Services:
    """What exec and the egress calls need; either may be absent (then they answer 501)."""

    executor: PodExecutor | None = None
    egress: EgressControl | None = None


NO_SERVICES = Services()


async def _exec(services: Services, instance: Instance, request: web.Request) -> web.Response:
    return await serve_exec(instance, request, services.executor)


async def _egress(method: str, services: Services, instance: Instance, request: web.Request) -> web.Response:
    if services.egress is None:
        raise egress_forward.no_proxy(method)
    await services.egress.change(instance, method, await _body(request))
    return web.Response(status=204)


Action = Callable[[Services, Instance, web.Request], Awaitable[web.Response]]


def _plain(action: Callable[[Instance, web.Request], Awaitable[web.Response]]) -> Action:
    async def run(services: Services, instance: Instance, request: web.Request) -> web.Response:
        return await action(instance, request)

    return run


_LIFECYCLE: dict[str, Callable[[Instance, web.Request], Awaitable[web.Response]]] = {
    "start": _start,
    "stop": _stop,
    "destroy": _destroy,
    "renewActivityTimeout": _renew,
    "getState": _state,
}
# (HTTP method, action segment) -> what serves it, from the routes the client sends.
ACTIONS: dict[tuple[str, str], Action] = {
    **{routes.LIFECYCLE_ROUTES[method]: _plain(action) for method, action in _LIFECYCLE.items()},
    **{route: partial(_egress, method) for method, route in routes.EGRESS_ROUTES.items()},
    routes.EXEC_ROUTE: _exec,
}


def inventory(fleet: Fleet) -> dict[str, Any]:
    """What `LunoraContainer.status.instances` reports: per container, instances by state."""
    containers: dict[str, Any] = {}
    for name, config in sorted(fleet.containers.items()):
        containers[name] = {
            "maxInstances": config.max_instances,
            "running": fleet.running(name),
            "byState": {},
            "instances": [],
        }
    for instance in fleet.instances():
        entry = containers.get(instance.config.name)
        if entry is None:
            continue
        state = instance.state()
        entry["byState"][state["status"]] = entry["byState"].get(state["status"], 0) + 1
        pod = instance.pod
        entry["instances"].append(
            {"id": instance.id, "run": instance.run, "pod": pod.name if pod else None, **state}
        )
    return {"containers": containers}


async def _container_egress(fleet: Fleet, services: Services, container: str) -> web.Response:
    config = fleet.config(container)
    if services.egress is None:
        raise egress_forward.no_proxy("egress status")
    return web.json_response(await services.egress.summary(names.label_value(config.name)))


def _call(
    fleet: Fleet, services: Services, parts: list[str], request: web.Request
) -> Callable[[], Awaitable[web.Response]] | None:
    """What serves a `containers/…` path; None for a route not served."""
    if parts[0] != "containers":
        return None
    if len(parts) == 3 and (request.method, parts[2]) == routes.EGRESS_STATUS_ROUTE:
        return partial(_container_egress, fleet, services, unquote(parts[1]))
    action = ACTIONS.get((request.method, parts[4])) if len(parts) == 5 and parts[2] == "instances" else None
    if action is None:
        return None

    async def run() -> web.Response:
        return await action(services, fleet.instance(unquote(parts[1]), unquote(parts[3])), request)

    return run


async def handle(
    fleet: Fleet, ready: Callable[[], bool], request: web.Request, services: Services = NO_SERVICES
) -> web.StreamResponse:
    parts = request.raw_path.split("?", 1)[0][len(PREFIX) :].split("/")
    if parts == ["healthz"]:
        return web.Response(text="ok") if ready() else web.Response(status=503, text="reading Pods")
    if parts == ["instances"] and request.method == "GET":
        return web.json_response(inventory(fleet))
    call = _call(fleet, services, parts, request)
    if call is None:
        return problem(404, "NOT_FOUND", f"{routes.NOT_SERVED} {request.method} {request.path}")
    try:
        return await call()
    except errors.ApiProblem as failure:
        return problem(failure.status, failure.code, failure.message)
    except errors.UnknownContainer as missing:
        return problem(404, "NOT_FOUND", str(missing))
    except BadStartOptions as bad:
        return problem(400, "BAD_REQUEST", str(bad))
    except errors.Conflict as conflict:
        return problem(409, "CONFLICT", str(conflict))
    except errors.Unavailable as failure:
        return answer(failure)
