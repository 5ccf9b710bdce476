"""The proxy's control API, for the router (which forwards its egress endpoints here) and the
operator (status). It listens apart from the proxy port, which is all instances may reach.

    POST /v1/instances/{uid}/egress/{allow|deny|remove_allowed|remove_denied}  {"host": "..."}
    POST /v1/instances/{uid}/egress/{set_allowed|set_denied}                   {"hosts": [...]}
    GET  /v1/instances                      every instance: its rules and decision counts
    GET  /v1/instances/{uid}/egress         one instance
    GET  /v1/containers/{container}/egress  what the LunoraContainer's status can show
    GET  /metrics, /healthz
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import prometheus_client
from aiohttp import web

from lunora_operator.local.egress.decisions import DecisionRecorder, container_egress_status
from lunora_operator.local.egress.instances import Instance, InstanceDirectory, UnknownInstance, parse_change
from lunora_operator.local.egress.rules import EgressRules, InstanceRules

RuntimeStore = Callable[[Instance, InstanceRules], Awaitable[None]]
"""Writes an instance's changed rules onto its Pod; raises `RuntimeStoreFailed` (or
`UnknownInstance` when the Pod is gone)."""


class RuntimeStoreFailed(RuntimeError):
    pass


def rules_json(rules: EgressRules | None) -> dict[str, Any] | None:
    if rules is None:
        return None
    return {
        "enableInternet": rules.enable_internet,
        "allowedHosts": None if rules.allowed_hosts is None else list(rules.allowed_hosts),
        "deniedHosts": None if rules.denied_hosts is None else list(rules.denied_hosts),
        "interceptHttps": rules.intercept_https,
    }


def control_app(
    directory: InstanceDirectory, recorder: DecisionRecorder, store: RuntimeStore
) -> web.Application:
    changing = asyncio.Lock()  # one change at a time: each starts from the one before it

    def describe(uid: str) -> dict[str, Any]:
        instance = directory.instance(uid)
        rules = directory.rules(uid)
        summary = recorder.summary(uid)
        return {
            "uid": uid,
            "pod": instance.label,
            "container": instance.container,
            "ip": instance.ip,
            "declared": rules_json(instance.declared),
            "effective": rules_json(rules.effective if rules is not None else None),
            "annotationError": instance.annotation_error,
            "decisions": summary.to_json() if summary is not None else None,
        }

    async def instances(request: web.Request) -> web.Response:
        return web.json_response({"instances": [describe(i.uid) for i in directory.instances()]})

    async def instance(request: web.Request) -> web.Response:
        try:
            return web.json_response(describe(request.match_info["uid"]))
        except UnknownInstance as error:
            raise web.HTTPNotFound(text=f"{error}\n") from None

    async def change(request: web.Request) -> web.Response:
        uid, op = request.match_info["uid"], request.match_info["op"]
        try:
            body = await request.json() if request.can_read_body else None
        except json.JSONDecodeError as error:
            raise web.HTTPBadRequest(text=f"the body is not JSON: {error}\n") from None
        try:
            rule_change = parse_change(op, body)
        except ValueError as error:
            raise web.HTTPBadRequest(text=f"{error}\n") from None
        try:
            async with changing:
                changed = directory.planned(uid, rule_change)
                # Recorded on the Pod first: a change the proxy could not keep is not made at all.
                await store(directory.instance(uid), changed)
                directory.record(uid, changed)
            return web.json_response(describe(uid))
        except UnknownInstance as error:
            raise web.HTTPNotFound(text=f"{error}\n") from None
        except RuntimeStoreFailed as error:
            raise web.HTTPServiceUnavailable(text=f"{error}\n") from None

    async def container(request: web.Request) -> web.Response:
        live = {i.uid for i in directory.instances()}
        summaries = [s for s in recorder.summaries() if s.uid in live]
        return web.json_response(container_egress_status(summaries, request.match_info["container"]))

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=prometheus_client.generate_latest(), content_type="text/plain")

    app = web.Application()
    app.add_routes(
        [
            web.get("/v1/instances", instances),
            web.get("/v1/instances/{uid}/egress", instance),
            web.post("/v1/instances/{uid}/egress/{op}", change),
            web.get("/v1/containers/{container}/egress", container),
            web.get("/metrics", metrics),
            web.get("/healthz", _healthz),
        ]
    )
    return app


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def health_app() -> web.Application:
    """GET /healthz and nothing else: safe on an address instances might reach."""
    app = web.Application()
    app.add_routes([web.get("/healthz", _healthz)])
    return app
