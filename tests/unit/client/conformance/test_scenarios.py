"""The same high-level scenarios on both backends: the test double and the real client over HTTP.

What the double promises is that code under test cannot tell it from the real client; these
scenarios hold it to that.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from lunora_operator.client import Containers, ContainerTestDouble, ExecResult, Instance, LunoraError
from tests.unit.client.conformance.server import ConformanceServer, serve_handlers
from tests.unit.client.support import RecordingClock


class App:
    """A container app: counts requests per instance, echoes the port, runs `echo` and `false`."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}

    def __call__(self, request: httpx.Request, instance: Instance) -> httpx.Response:
        if request.url.path == "/__lunora/exec":
            body = json.loads(request.content)
            if body["command"] == "missing":
                return httpx.Response(404, text="no exec route")
            code = 0 if body["command"] == "echo" else 1
            return httpx.Response(200, json={"code": code, "stdout": " ".join(body["args"]) + "\n"})
        self.hits[instance.name] = self.hits.get(instance.name, 0) + 1
        if request.url.path == "/broken":
            return httpx.Response(503, text="maintenance")
        port = request.headers.get("cf-container-target-port", "default")
        return httpx.Response(
            200, text=f"{instance.name}:{self.hits[instance.name]}:{port}:{request.url.path}"
        )


@pytest.fixture(params=["double", "router"])
async def backend(
    request: pytest.FixtureRequest, server: ConformanceServer
) -> AsyncIterator[tuple[Containers, App]]:
    app = App()
    if request.param == "double":
        async with ContainerTestDouble({"runner": app}) as double:
            yield double, app
    else:
        server.responder, server.exec_responder = serve_handlers({"runner": app})
        async with Containers(
            server.base_url, known=["runner"], clock=RecordingClock(), random=lambda: 0.0
        ) as client:
            yield client, app


async def test_a_named_instance_is_sticky(backend: tuple[Containers, App]) -> None:
    containers, _ = backend
    runner = containers["runner"]
    assert (await runner.get("video-42").fetch("/a")).text == "video-42:1:default:/a"
    assert (await runner.get("video-42").fetch("/b")).text == "video-42:2:default:/b"
    assert (await runner.get("video-7").fetch("/a")).text == "video-7:1:default:/a"


async def test_any_and_pool_reach_pool_instances_and_port_selects_the_port(
    backend: tuple[Containers, App],
) -> None:
    containers, _ = backend
    runner = containers["runner"]
    assert (await runner.any().fetch("/")).text == "pool-0:1:default:/"
    assert (await runner.pool().port(9090).fetch("/x")).text == "pool-0:2:9090:/x"
    assert (await runner.get("a").port(8081).fetch("/")).text == "a:1:8081:/"


async def test_an_app_error_is_answered_once(backend: tuple[Containers, App]) -> None:
    containers, app = backend
    response = await containers["runner"].get("a").fetch("/broken")
    assert (response.status_code, response.text, app.hits) == (503, "maintenance", {"a": 1})


async def test_exec_returns_code_and_output(backend: tuple[Containers, App]) -> None:
    containers, _ = backend
    assert await containers["runner"].get("a").exec("echo", args=["hi", "there"]) == ExecResult(
        0, "hi there\n", ""
    )
    assert (await containers["runner"].any().exec("false")).code == 1


async def test_item_95_an_exec_failure_names_the_pool_handle(backend: tuple[Containers, App]) -> None:
    containers, _ = backend
    with pytest.raises(
        LunoraError, match=r"^ctx\.containers\.runner\.pool\(\): exec failed — the container answered 404"
    ):
        await containers["runner"].pool().exec("missing")


async def test_item_126_pool_names_are_refused_for_get(backend: tuple[Containers, App]) -> None:
    containers, app = backend
    with pytest.raises(LunoraError, match='instance names starting "pool-" are reserved'):
        containers["runner"].get("pool-0")
    assert app.hits == {}


async def test_reserved_paths_are_refused(backend: tuple[Containers, App]) -> None:
    containers, app = backend
    with pytest.raises(LunoraError, match="reserved for Lunora's own container routes"):
        await containers["runner"].get("a").fetch("/%5F_lunora/exec")
    assert app.hits == {}


async def test_lifecycle_calls_resolve(backend: tuple[Containers, App]) -> None:
    containers, _ = backend
    handle = containers["runner"].get("a")
    await handle.start(env_vars={"A": "1"})
    await handle.egress.allow("example.com")
    await handle.renew_activity_timeout()
    state: Any = await handle.get_state()
    assert "lastChange" in state
    await handle.stop()
    await handle.destroy()


async def test_an_unknown_container_fails_on_use(backend: tuple[Containers, App]) -> None:
    containers, _ = backend
    with pytest.raises(LunoraError, match='no "CONTAINER_OTHER" container is known here'):
        containers["other"].get("a")
