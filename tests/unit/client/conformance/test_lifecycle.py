"""Lifecycle and egress over the router's lifecycle routes (items 50–52), and unknown containers (item 46)."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from lunora_operator.client import Containers, LifecycleNotExposed, LunoraError
from tests.unit.client.conformance.server import ConformanceServer


def lifecycle(server: ConformanceServer) -> list[tuple[str, str, object]]:
    return [
        (s.instance, f"{s.method} {s.lifecycle}", json.loads(s.body) if s.body else None)
        for s in server.seen
        if s.route == "lifecycle"
    ]


async def test_item_50_lifecycle_calls_are_forwarded_in_order(
    server: ConformanceServer, containers: Containers
) -> None:
    handle = containers["transcoder"].get("video-42")
    await handle.start(env_vars={"MODE": "fast"})
    await handle.stop("SIGTERM")
    await handle.destroy()
    state = await handle.get_state()
    assert lifecycle(server) == [
        ("video-42", "POST start", {"envVars": {"MODE": "fast"}}),
        ("video-42", "POST stop", {"signal": "SIGTERM"}),
        ("video-42", "POST destroy", {}),
        ("video-42", "GET state", None),
    ]
    assert state == {"status": "healthy", "lastChange": 1700000000000, "extra": {"kept": True}}
    assert all(s.headers["content-type"] == "application/json" for s in server.seen if s.method == "POST")


async def test_start_sends_every_option_under_its_lunora_name(
    server: ConformanceServer, containers: Containers
) -> None:
    handle = containers["transcoder"].get("a")
    await handle.start(
        entrypoint=["/bin/run", "--fast"], labels={"team": "media"}, enable_internet=False, env_vars={}
    )
    await handle.start()
    await handle.stop()
    await handle.stop(9)
    assert [body for _, _, body in lifecycle(server)] == [
        {
            "envVars": {},
            "entrypoint": ["/bin/run", "--fast"],
            "labels": {"team": "media"},
            "enableInternet": False,
        },
        {},
        {},
        {"signal": 9},
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h: h.start(env_vars={"A": 1}), "`env_vars` must map names to string values"),
        (lambda h: h.start(entrypoint="/bin/sh"), "`entrypoint` must be a list of strings"),
        (lambda h: h.start(enable_internet="yes"), "`enable_internet` must be a boolean"),
        (lambda h: h.stop(["SIGTERM"]), "`signal` must be a number or a name"),
        (lambda h: h.egress.set_allowed("example.com"), "give a list of hostnames"),
        (lambda h: h.egress.allow(""), "hostname must be a non-empty string"),
    ],
)
async def test_bad_lifecycle_arguments_are_refused_before_sending(
    server: ConformanceServer, containers: Containers, call, message: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LunoraError, match=message):
        await call(containers["transcoder"].get("a"))
    assert server.seen == []


async def test_item_52_renew_and_egress_map_to_the_do_methods(
    server: ConformanceServer, containers: Containers
) -> None:
    handle = containers["transcoder"].get("a")
    hosts = ["api.example.com"]
    await handle.renew_activity_timeout()
    await handle.egress.allow("a.example.com")
    await handle.egress.deny("b.example.com")
    await handle.egress.set_allowed(hosts)
    await handle.egress.set_denied(iter(["c.example.com", "*.bad.example"]))
    await handle.egress.remove_allowed("a.example.com")
    await handle.egress.remove_denied("b.example.com")
    assert [(method, body) for _, method, body in lifecycle(server)] == [
        ("POST renew", {}),
        ("POST allowHost", {"hostname": "a.example.com"}),
        ("POST denyHost", {"hostname": "b.example.com"}),
        ("POST setAllowedHosts", {"hosts": ["api.example.com"]}),
        ("POST setDeniedHosts", {"hosts": ["c.example.com", "*.bad.example"]}),
        ("POST removeAllowedHost", {"hostname": "a.example.com"}),
        ("POST removeDeniedHost", {"hostname": "b.example.com"}),
    ]


@pytest.mark.parametrize(
    "answer",
    [
        web.json_response({"code": "NOT_FOUND", "message": "no such endpoint POST /_api/x"}, status=404),
        web.Response(status=501),
        web.Response(status=404, text="Not Found"),
        web.Response(status=405),
    ],
)
async def test_item_51_a_method_the_router_does_not_serve(
    server: ConformanceServer, containers: Containers, answer: web.Response
) -> None:
    server.lifecycle_answers["stop"] = answer
    with pytest.raises(
        LifecycleNotExposed, match=r'the "CONTAINER_TRANSCODER" container DO does not expose stop\(\)'
    ):
        await containers["transcoder"].get("a").stop()
    assert isinstance(LifecycleNotExposed("B", "stop"), TypeError)


@pytest.mark.parametrize(
    "payload",
    [
        {"code": "CONFLICT", "message": "stop the instance first"},
        {"error": {"code": "CONFLICT", "message": "stop the instance first"}},
    ],
)
async def test_an_error_is_raised_with_its_code(
    server: ConformanceServer, containers: Containers, payload: dict[str, object]
) -> None:
    server.lifecycle_answers["start"] = web.json_response(payload, status=409)
    with pytest.raises(LunoraError, match="stop the instance first") as raised:
        await containers["transcoder"].get("a").start(env_vars={"A": "2"})
    assert raised.value.code == "CONFLICT"


async def test_an_unknown_container_is_not_found_not_unexposed(
    server: ConformanceServer, containers: Containers
) -> None:
    server.lifecycle_answers["destroy"] = web.json_response(
        {"code": "NOT_FOUND", "message": 'no container "transcoder" in this app'}, status=404
    )
    with pytest.raises(LunoraError, match="no container") as raised:
        await containers["transcoder"].get("a").destroy()
    assert raised.value.code == "NOT_FOUND"


async def test_any_other_failure_quotes_the_answer(server: ConformanceServer, containers: Containers) -> None:
    server.lifecycle_answers["destroy"] = web.Response(status=502, text="upstream gone")
    with pytest.raises(
        LunoraError, match=r"destroy\(\) failed — the router answered 502. Body: upstream gone"
    ) as raised:
        await containers["transcoder"].get("a").destroy()
    assert raised.value.code == "INTERNAL"


async def test_lifecycle_routes_live_apart_from_the_instance_routes(
    server: ConformanceServer, containers: Containers
) -> None:
    await containers["transcoder"].get("a/b").destroy()
    assert server.seen[0].route == "lifecycle"
    assert server.seen[0].instance == "a/b"


async def test_item_46_an_unknown_container_fails_on_use_naming_its_binding(
    server: ConformanceServer,
) -> None:
    """Item 46: `.get()`, `.any()` and `.pool()` raise the same error; other containers keep working."""
    async with Containers(server.base_url, known=["transcoder"]) as client:
        accessor = client["imageResizer"]
        for use in (lambda: accessor.get("a"), accessor.any, accessor.pool):
            with pytest.raises(
                LunoraError, match='no "CONTAINER_IMAGE_RESIZER" container is known here'
            ) as raised:
                use()
            assert raised.value.code == "INTERNAL"
        await client["transcoder"].get("a").fetch("/")
    assert len(server.seen) == 1


def test_the_router_url_must_be_given() -> None:
    with pytest.raises(TypeError, match="`base_url` must be a non-empty router URL"):
        Containers("  ")
    with pytest.raises(TypeError, match="either `base_url`"):
        Containers()


async def test_the_sync_wrapper_over_http(server: ConformanceServer) -> None:
    from lunora_operator.client import SyncContainers

    def blocking_program() -> None:
        with SyncContainers(server.base_url) as containers:
            handle = containers["transcoder"].get("a")
            assert handle.fetch("/x").text == "a /x"
            assert handle.get_state()["status"] == "healthy"
            handle.egress.set_denied(["bad.example"])

    # The server runs on this test's event loop, so the blocking program runs in a thread.
    await asyncio.to_thread(blocking_program)
    assert [s.route for s in server.seen] == ["instance", "lifecycle", "lifecycle"]
