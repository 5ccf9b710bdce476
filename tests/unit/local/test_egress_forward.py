"""Runtime egress calls through the router: forwarded to the egress proxy's control API (a real
aiohttp server on 127.0.0.1 here) for the instance's Pod, refused while the instance is not
running, and answered 501 — "does not expose" for the client — when the router has no proxy.
Driven through the real Python client, so the routes the client sends are the ones served
(conformance item 52)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from lunora_operator.client import Containers, LifecycleNotExposed, LunoraError
from lunora_operator.local import names
from lunora_operator.local.egress_forward import EgressControl
from lunora_operator.local.lifecycle_api import Services
from tests.unit.local.loopback import config, front_for, router_for, serving, upstream


class ControlApi:
    """The egress proxy's control API: records each change, answers `status`."""

    def __init__(self, status: int = 200, text: str = "") -> None:
        self.changes: list[tuple[str, str, Any]] = []
        self.asked: list[str] = []
        self.status = status
        self.text = text

    def app(self) -> web.Application:
        async def change(request: web.Request) -> web.Response:
            self.changes.append((request.match_info["uid"], request.match_info["op"], await request.json()))
            if self.status != 200:
                return web.Response(status=self.status, text=self.text)
            return web.json_response({"uid": request.match_info["uid"]})

        async def container(request: web.Request) -> web.Response:
            self.asked.append(request.match_info["container"])
            if self.status != 200:
                return web.Response(status=self.status, text=self.text)
            return web.json_response(SUMMARY)

        app = web.Application()
        app.router.add_post("/v1/instances/{uid}/egress/{op}", change)
        app.router.add_get("/v1/containers/{container}/egress", container)
        return app


SUMMARY = {"allowed": 3, "denied": 1, "instances": 2, "recentlyDenied": ["evil.example"]}


@asynccontextmanager
async def containers_with(control: ControlApi | None) -> AsyncIterator[tuple[Containers, Any]]:
    async with serving(await upstream()) as port, aiohttp.ClientSession() as session:
        if control is None:
            async with (
                front_for(config(default_port=port)) as (router_port, fleet, _),
                Containers(f"http://127.0.0.1:{router_port}") as containers,
            ):
                yield containers, fleet
            return
        async with serving(control.app()) as control_port:
            egress = EgressControl(f"http://127.0.0.1:{control_port}/", session)
            async with (
                front_for(config(default_port=port), services=Services(egress=egress)) as (
                    router_port,
                    fleet,
                    _,
                ),
                Containers(f"http://127.0.0.1:{router_port}") as containers,
            ):
                yield containers, fleet


async def test_52_each_egress_call_reaches_the_proxy_for_the_instances_pod() -> None:
    control = ControlApi()
    async with containers_with(control) as (containers, fleet):
        video = containers["web"].get("video-42")
        await video.fetch("/")
        hosts = ["a.example", "b.example"]
        await video.egress.allow("api.example.com")
        await video.egress.deny("evil.example")
        await video.egress.remove_allowed("api.example.com")
        await video.egress.remove_denied("evil.example")
        await video.egress.set_allowed(hosts)
        await video.egress.set_denied([])
        uid = fleet.instance("web", "video-42").pod.uid

    assert control.changes == [
        (uid, "allow", {"host": "api.example.com"}),
        (uid, "deny", {"host": "evil.example"}),
        (uid, "remove_allowed", {"host": "api.example.com"}),
        (uid, "remove_denied", {"host": "evil.example"}),
        (uid, "set_allowed", {"hosts": ["a.example", "b.example"]}),
        (uid, "set_denied", {"hosts": []}),
    ]


async def test_51_without_an_egress_proxy_the_router_does_not_expose_the_calls() -> None:
    async with containers_with(None) as (containers, _):
        with pytest.raises(LifecycleNotExposed, match=r"does not expose allowHost\(\)"):
            await containers["web"].get("video-42").egress.allow("api.example.com")


async def test_a_stopped_instance_has_no_pod_to_hold_rules() -> None:
    control = ControlApi()
    async with containers_with(control) as (containers, _):
        with pytest.raises(LunoraError) as caught:
            await containers["web"].get("never-started").egress.allow("api.example.com")

    assert caught.value.code == "CONFLICT"
    assert "start() it first" in caught.value.message
    assert control.changes == []


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (400, "BAD_REQUEST", "bad host pattern"),
        (404, "CONFLICT", "does not know"),
        (500, "INTERNAL", "answered 500"),
    ],
)
async def test_the_proxys_refusals_come_back_with_lunoras_codes(status: int, code: str, words: str) -> None:
    async with containers_with(ControlApi(status, "bad host pattern")) as (containers, _):
        video = containers["web"].get("video-42")
        await video.fetch("/")
        with pytest.raises(LunoraError) as caught:
            await video.egress.allow("api.example.com")

    assert caught.value.code == code
    assert words in caught.value.message


async def test_a_bad_argument_is_refused_before_the_proxy_is_asked() -> None:
    control = ControlApi()
    async with (
        serving(await upstream()) as port,
        aiohttp.ClientSession() as session,
        serving(control.app()) as control_port,
        router_for(
            config(default_port=port),
            services=Services(egress=EgressControl(f"http://127.0.0.1:{control_port}", session)),
        ) as (client, _, _),
    ):
        await client.get("/web/a/")
        response = await client.post(
            "/_api/containers/web/instances/a/setAllowedHosts", json={"hosts": "a.example"}
        )

    assert response.status == 400
    assert control.changes == []


async def test_an_unreachable_proxy_is_named() -> None:
    async with serving(await upstream()) as port, aiohttp.ClientSession() as session:
        egress = EgressControl("http://127.0.0.1:9", session)
        async with router_for(config(default_port=port), services=Services(egress=egress)) as (client, _, _):
            await client.get("/web/a/")
            response = await client.post("/_api/containers/web/instances/a/allowHost", json={"hostname": "x"})
            message = (await response.json())["message"]

    assert response.status == 502
    assert "the egress proxy at http://127.0.0.1:9 did not answer" in message


@asynccontextmanager
async def router_with(control: ControlApi | None, *configs: Any) -> AsyncIterator[aiohttp.ClientSession]:
    async with serving(await upstream()) as port, aiohttp.ClientSession() as session:
        configs = configs or (config(default_port=port),)
        if control is None:
            async with router_for(*configs) as (client, _, _):
                yield client
            return
        async with serving(control.app()) as control_port:
            egress = EgressControl(f"http://127.0.0.1:{control_port}", session)
            async with router_for(*configs, services=Services(egress=egress)) as (client, _, _):
                yield client


async def test_a_containers_egress_counts_come_from_the_proxy_under_its_pods_label() -> None:
    control = ControlApi()
    long_name = "w" * 70
    async with router_with(control, config(), config(long_name, export_name="Long")) as client:
        by_name = await client.get("/_api/containers/web/egress")
        by_name_body = await by_name.json()
        by_export = await client.get("/_api/containers/Long/egress")

    assert by_name.status == 200
    assert by_name_body == SUMMARY
    assert by_export.status == 200
    # The proxy knows a container by its instance Pods' label, shortened for a long name.
    assert control.asked == ["web", names.label_value(long_name)]
    assert control.asked[1] != long_name


async def test_an_unknown_containers_egress_counts_are_not_found() -> None:
    control = ControlApi()
    async with router_with(control) as client:
        response = await client.get("/_api/containers/nope/egress")
        body = await response.json()

    assert response.status == 404
    assert body["code"] == "NOT_FOUND"
    assert control.asked == []


async def test_without_an_egress_proxy_there_are_no_egress_counts() -> None:
    async with router_with(None) as client:
        response = await client.get("/_api/containers/web/egress")
        body = await response.json()

    assert response.status == 501
    assert body["code"] == "NOT_IMPLEMENTED"


async def test_a_failing_proxy_makes_the_egress_counts_a_502() -> None:
    async with router_with(ControlApi(500, "boom")) as client:
        response = await client.get("/_api/containers/web/egress")
        body = await response.json()

    assert response.status == 502
    assert "answered 500: boom" in body["message"]


async def test_only_get_serves_egress_counts() -> None:
    control = ControlApi()
    async with router_with(control) as client:
        response = await client.post("/_api/containers/web/egress")

    assert response.status == 404
    assert control.asked == []
