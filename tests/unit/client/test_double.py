"""The test double (items 71, 95, 96, 126): handlers per container, no network, attempts=1."""

from __future__ import annotations

import json

import httpx
import pytest

from lunora_operator.client import ContainerTestDouble, Instance, LifecycleCall, LunoraError, SyncContainers
from tests.unit.client.support import NO_INSTANCE_TEXT


async def test_item_71_the_handler_gets_the_instance_and_the_request() -> None:
    seen: list[tuple[str, str, str, bytes]] = []

    async def handler(request: httpx.Request, instance: Instance) -> httpx.Response:
        seen.append((instance.name, request.method, str(request.url), request.content))
        return httpx.Response(201, text="made")

    double = ContainerTestDouble({"transcoder": handler})
    response = await double["transcoder"].get("video-42").fetch("/transcode", method="POST", content=b"job")
    await double["transcoder"].any().fetch("/ping")
    await double["transcoder"].any(10).fetch("/ping")
    await double["transcoder"].pool(size=7).fetch("/ping")
    assert (response.status_code, response.text) == (201, "made")
    assert seen == [
        ("video-42", "POST", "http://container/transcode", b"job"),
        ("pool-0", "GET", "http://container/ping", b""),
        ("pool-0", "GET", "http://container/ping", b""),
        ("pool-0", "GET", "http://container/ping", b""),
    ]


async def test_the_double_retries_nothing() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request, instance: Instance) -> httpx.Response:
        calls.append(instance.name)
        return httpx.Response(503, text=NO_INSTANCE_TEXT)

    double = ContainerTestDouble({"runner": handler})
    await double["runner"].get("a", attempts=5).fetch("/")
    await double["runner"].any().fetch("/")
    await double["runner"].pool(attempts=5).fetch("/")
    assert calls == ["a", "pool-0", "pool-0"]


async def test_item_96_exec_reaches_the_handler_as_the_exec_contract() -> None:
    def handler(request: httpx.Request, instance: Instance) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/__lunora/exec")
        assert request.headers["content-type"] == "application/json"
        body = json.loads(request.content)
        return httpx.Response(200, json={"code": 3, "stdout": body["command"], "stderr": instance.name})

    result = await ContainerTestDouble({"runner": handler})["runner"].get("s").exec("make")
    assert (result.code, result.stdout, result.stderr) == (3, "make", "s")


async def test_item_95_a_double_exec_error_names_the_pool() -> None:
    double = ContainerTestDouble({"runner": lambda request, instance: httpx.Response(500, text="boom")})
    with pytest.raises(LunoraError, match=r"ctx\.containers\.runner\.pool\(\): exec failed"):
        await double["runner"].pool().exec("ls")


def test_item_126_the_double_refuses_pool_names_too() -> None:
    double = ContainerTestDouble({"runner": lambda request, instance: httpx.Response(200)})
    with pytest.raises(LunoraError, match='starting "pool-" are reserved'):
        double["runner"].get("pool-1")


async def test_lifecycle_calls_are_recorded() -> None:
    double = ContainerTestDouble({"runner": lambda request, instance: httpx.Response(200)})
    handle = double["runner"].get("s")
    await handle.start(env_vars={"A": "1"})
    hosts = ["a.example"]
    await handle.egress.set_allowed(hosts)
    assert await handle.get_state() == {"lastChange": 0}
    await handle.stop("SIGTERM")
    assert double.calls == [
        LifecycleCall("runner", "s", "start", {"envVars": {"A": "1"}}),
        LifecycleCall("runner", "s", "setAllowedHosts", ["a.example"]),
        LifecycleCall("runner", "s", "getState", None),
        LifecycleCall("runner", "s", "stop", "SIGTERM"),
    ]
    assert double.calls[1].argument is not hosts  # item 52: lists are sent as fresh copies


async def test_a_handler_error_reaches_the_caller() -> None:
    def handler(request: httpx.Request, instance: Instance) -> httpx.Response:
        raise RuntimeError("the container is not listening")

    with pytest.raises(RuntimeError, match="not listening"):
        await ContainerTestDouble({"runner": handler})["runner"].get("a").fetch("/")


def test_the_sync_wrapper_drives_the_double() -> None:
    def handler(request: httpx.Request, instance: Instance) -> httpx.Response:
        if request.url.path == "/__lunora/exec":
            return httpx.Response(200, json={"code": 0, "stdout": "ran"})
        return httpx.Response(200, text=f"{instance.name} {request.headers.get('cf-container-target-port')}")

    with SyncContainers.of(lambda: ContainerTestDouble({"runner": handler})) as containers:
        handle = containers["runner"].get("a")
        assert handle.fetch("/").text == "a None"
        assert handle.port(9090).fetch("/").text == "a 9090"
        assert containers["runner"].pool().exec("ls").stdout == "ran"
        handle.start(env_vars={"A": "1"})
        handle.egress.allow("x.example")
        assert handle.get_state() == {"lastChange": 0}
        handle.stop()
        handle.destroy()
        handle.renew_activity_timeout()
        assert [call.method for call in containers.containers.calls] == [  # type: ignore[attr-defined]
            "start",
            "allowHost",
            "getState",
            "stop",
            "destroy",
            "renewActivityTimeout",
        ]
