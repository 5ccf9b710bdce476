"""The router's own HTTP API, under `/_api/` (a container name never starts with `_`):

    GET  /_api/healthz                                       200 once the router has read its Pods
    GET  /_api/instances                                     every instance of every container, by state
    POST /_api/containers/<c>/instances/<id>/start           body {envVars?, entrypoint?, labels?, enableInternet?}
    POST /_api/containers/<c>/instances/<id>/stop            body {signal?}: SIGTERM (default), SIGINT or SIGKILL
    POST /_api/containers/<c>/instances/<id>/destroy
    POST /_api/containers/<c>/instances/<id>/renew           renewActivityTimeout()
    GET  /_api/containers/<c>/instances/<id>/state           getState()

The lifecycle calls are those Lunora's instance handles forward to their Durable Object. Errors
are JSON `{code, message}` with Lunora's codes (BAD_REQUEST, NOT_FOUND, CONFLICT), except that a
start which fails answers as a request would: the platform's status and text.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from lunora_operator.local import errors
from lunora_operator.local.fleet import Fleet
from lunora_operator.local.instance import Instance
from lunora_operator.local.override import BadStartOptions, parse_start_options

PREFIX = "/_api/"
SIGNALS = {
    "SIGTERM": "SIGTERM",
    "SIGINT": "SIGTERM",
    "SIGKILL": "SIGKILL",
    "15": "SIGTERM",
    "2": "SIGTERM",
    "9": "SIGKILL",
}


def problem(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def answer(failure: errors.Unavailable) -> web.Response:
    return web.Response(
        status=failure.answer.status,
        text=failure.answer.text,
        headers={"x-lunora-router-detail": failure.detail.replace("\n", " ")[:1024]},
    )


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


ACTIONS: dict[tuple[str, str], Callable[[Instance, web.Request], Awaitable[web.Response]]] = {
    ("POST", "start"): _start,
    ("POST", "stop"): _stop,
    ("POST", "destroy"): _destroy,
    ("POST", "renew"): _renew,
    ("GET", "state"): _state,
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


async def handle(fleet: Fleet, ready: Callable[[], bool], request: web.Request) -> web.StreamResponse:
    parts = request.raw_path.split("?", 1)[0][len(PREFIX) :].split("/")
    if parts == ["healthz"]:
        return web.Response(text="ok") if ready() else web.Response(status=503, text="reading Pods")
    if parts == ["instances"] and request.method == "GET":
        return web.json_response(inventory(fleet))
    if len(parts) != 5 or parts[0] != "containers" or parts[2] != "instances":
        return problem(404, "NOT_FOUND", f"no such endpoint {request.method} {request.path}")
    action = ACTIONS.get((request.method, parts[4]))
    if action is None:
        return problem(404, "NOT_FOUND", f"no such endpoint {request.method} {request.path}")
    try:
        instance = fleet.instance(unquote(parts[1]), unquote(parts[3]))
        return await action(instance, request)
    except errors.UnknownContainer as missing:
        return problem(404, "NOT_FOUND", str(missing))
    except BadStartOptions as bad:
        return problem(400, "BAD_REQUEST", str(bad))
    except errors.Conflict as conflict:
        return problem(409, "CONFLICT", str(conflict))
    except errors.Unavailable as failure:
        return answer(failure)
