"""fetch, `.get` / `.any` / `.pool`, `.port` and both retries against a real server (items 43–70, 91, 92)."""

from __future__ import annotations

import httpx
import pytest

from lunora_operator.client import Containers, LunoraError
from tests.unit.client.conformance.conftest import FixedRandom
from tests.unit.client.conformance.server import (
    ConformanceServer,
    drop_connection,
    json_reply,
    sequence,
    status,
)
from tests.unit.client.support import NO_INSTANCE_TEXT, START_FAILURE_TEXT, RecordingClock


async def test_item_43_get_targets_the_named_instance_and_path(
    server: ConformanceServer, containers: Containers
) -> None:
    response = await containers["transcoder"].get("video-42").fetch("/transcode?x=1")
    assert response.status_code == 200
    [seen] = server.instance_calls()
    assert (seen.container, seen.instance, seen.path, seen.query) == (
        "transcoder",
        "video-42",
        "/transcode",
        "x=1",
    )


async def test_item_44_a_full_request_passes_through_unchanged(
    server: ConformanceServer, containers: Containers
) -> None:
    request = httpx.Request("PUT", "http://example.com/upload/a%20b?k=v", content=b"payload")
    await containers["transcoder"].get("video-42").fetch(request)
    [seen] = server.instance_calls()
    assert (seen.method, seen.path, seen.query, seen.body) == ("PUT", "/upload/a%20b", "k=v", b"payload")
    assert str(request.url) == "http://example.com/upload/a%20b?k=v"


async def test_method_headers_and_body_reach_the_instance(
    server: ConformanceServer, containers: Containers
) -> None:
    await (
        containers["transcoder"]
        .get("a")
        .fetch("/jobs", method="POST", headers={"x-job": "7", "x-lunora-container-exec": "1"}, content=b"{}")
    )
    [seen] = server.instance_calls()
    assert (seen.method, seen.headers["x-job"], seen.body) == ("POST", "7", b"{}")
    # The forgeable in-worker exec mark never reaches the instance.
    assert "x-lunora-container-exec" not in seen.headers


async def test_get_is_sticky_and_names_are_encoded(server: ConformanceServer, containers: Containers) -> None:
    handle = containers["transcoder"].get("user/ü 1")
    await handle.fetch("/a")
    await containers["transcoder"].get("user/ü 1").fetch("/b")
    assert {seen.instance for seen in server.instance_calls()} == {"user/ü 1"}


async def test_item_45_any_picks_floor_random_times_size(
    server: ConformanceServer, containers: Containers, pick: FixedRandom
) -> None:
    """Item 45: random 0.99 with maxInstances 2 → pool-1; `.any(10)` → pool-9; default size 3."""
    pick.value = 0.99
    await containers["capped"].any().fetch("/")
    await containers["capped"].any(10).fetch("/")
    await containers["other"].any().fetch("/")
    assert [seen.instance for seen in server.instance_calls()] == ["pool-1", "pool-9", "pool-2"]


async def test_any_picks_once_when_called(
    server: ConformanceServer, containers: Containers, pick: FixedRandom
) -> None:
    handle = containers["capped"].any()
    pick.value = 0.99
    await handle.fetch("/")
    await handle.fetch("/")
    assert [seen.instance for seen in server.instance_calls()] == ["pool-0", "pool-0"]


async def test_item_53_port_sets_the_target_port_header_on_every_handle(
    server: ConformanceServer, containers: Containers
) -> None:
    accessor = containers["transcoder"]
    await accessor.get("a").port(9090).fetch("/")
    await accessor.any().port(9091).fetch("/")
    await accessor.pool().port(9092).fetch("/")
    await accessor.get("a").fetch("/")
    ports = [seen.headers.get("cf-container-target-port") for seen in server.instance_calls()]
    assert ports == ["9090", "9091", "9092", None]


def test_port_must_be_a_tcp_port(containers: Containers) -> None:
    with pytest.raises(LunoraError, match="1–65535"):
        containers["transcoder"].get("a").port(70000)


async def test_traceparent_and_sampling_travel_only_when_known(server: ConformanceServer) -> None:
    async with Containers(server.base_url, traceparent="00-abc-def-01", sample_errors=False) as traced:
        await traced["t"].get("a").fetch("/")
    async with Containers(server.base_url) as plain:
        await plain["t"].get("a").fetch("/")
    first, second = server.instance_calls()
    assert (first.headers["traceparent"], first.headers["x-lunora-sample-errors"]) == ("00-abc-def-01", "0")
    assert "traceparent" not in second.headers
    assert "x-lunora-sample-errors" not in second.headers


# Pool retry (items 54–62)


async def test_item_54_pool_returns_the_first_healthy_response(
    server: ConformanceServer, containers: Containers
) -> None:
    response = await containers["transcoder"].pool().fetch("/")
    assert response.status_code == 200
    assert len(server.instance_calls()) == 1


async def test_item_55_pool_retries_5xx_on_fresh_instances(
    server: ConformanceServer, containers: Containers, clock: RecordingClock
) -> None:
    """Item 55: 503, 503, ok → ok after 3 calls, each on a freshly picked instance."""
    server.responder = sequence(status(503), status(503), status(200, "fine"))
    picks = iter([0.0, 0.5, 0.9])
    async with Containers(server.base_url, clock=clock, random=lambda: next(picks)) as client:
        response = await client["transcoder"].pool().fetch("/")
    assert (response.status_code, response.text) == (200, "fine")
    assert [seen.instance for seen in server.instance_calls()] == ["pool-0", "pool-1", "pool-2"]
    assert clock.waits == [100, 200]


async def test_item_56_pool_retries_a_throw(server: ConformanceServer, containers: Containers) -> None:
    """Item 56: throw, ok → ok after 2 calls (the first connection dropped mid-response)."""
    server.responder = sequence(drop_connection(), status(200, "fine"))
    response = await containers["transcoder"].pool().fetch("/")
    assert response.text == "fine"
    assert len(server.instance_calls()) == 2


async def test_item_57_pool_returns_the_last_5xx(server: ConformanceServer, containers: Containers) -> None:
    server.responder = sequence(status(503, "one"), status(500, "two"), status(503, "last"), status(200))
    response = await containers["transcoder"].pool(attempts=3).fetch("/")
    assert (response.status_code, response.text, len(server.instance_calls())) == (503, "last", 3)


async def test_item_58_pool_raises_when_every_attempt_throws(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = drop_connection()
    with pytest.raises(httpx.HTTPError):
        await containers["transcoder"].pool().fetch("/")
    assert len(server.instance_calls()) == 3


async def test_item_59_pool_attempts_1_makes_no_retry(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = status(503)
    response = await containers["transcoder"].pool(attempts=1).fetch("/")
    assert response.status_code == 503
    assert len(server.instance_calls()) == 1


async def test_item_60_pool_waits_against_a_server(
    server: ConformanceServer, containers: Containers, clock: RecordingClock
) -> None:
    server.responder = status(503)
    await containers["transcoder"].pool(attempts=7, backoff_ms=1000, max_backoff_ms=5000).fetch("/")
    assert clock.waits == [1000, 2000, 4000, 5000, 5000, 5000]


async def test_item_61_pool_sends_a_prebuilt_request_once(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = status(503)
    response = (
        await containers["transcoder"]
        .pool()
        .fetch(httpx.Request("POST", "http://container/x", content=b"body"))
    )
    assert response.status_code == 503
    assert len(server.instance_calls()) == 1


async def test_item_62_pool_honours_a_custom_retry_on(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = sequence(status(429), status(200))
    response = await containers["transcoder"].pool(retry_on=lambda r: r.status_code == 429).fetch("/")
    assert response.status_code == 200
    assert len(server.instance_calls()) == 2
    server.seen.clear()
    server.responder = status(503)
    response = await containers["transcoder"].pool(retry_on=lambda r: r.status_code == 429).fetch("/")
    assert response.status_code == 503
    assert len(server.instance_calls()) == 1


async def test_pool_size_bounds_the_picks(
    server: ConformanceServer, pick: FixedRandom, clock: RecordingClock
) -> None:
    pick.value = 0.99
    async with Containers(server.base_url, clock=clock, random=pick) as client:
        await client["transcoder"].pool(size=5).fetch("/")
    assert server.instance_calls()[0].instance == "pool-4"


# Cold-start retry (items 63–70)


async def test_item_63_the_no_instance_503_is_retried_on_the_same_instance(
    server: ConformanceServer, containers: Containers, clock: RecordingClock
) -> None:
    server.responder = sequence(
        status(503, NO_INSTANCE_TEXT), status(503, NO_INSTANCE_TEXT), status(200, "up")
    )
    response = await containers["transcoder"].get("video-42").fetch("/")
    assert response.text == "up"
    assert [seen.instance for seen in server.instance_calls()] == ["video-42"] * 3
    assert clock.waits == [500, 1000]


async def test_item_65_start_failure_and_429_are_retried(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = sequence(status(500, START_FAILURE_TEXT), status(429), status(200))
    response = await containers["transcoder"].get("a").fetch("/")
    assert response.status_code == 200
    assert len(server.instance_calls()) == 3


async def test_item_66_an_app_503_is_returned_at_once(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = status(503, "down for maintenance")
    response = await containers["transcoder"].get("a").fetch("/")
    assert (response.status_code, response.text, len(server.instance_calls())) == (
        503,
        "down for maintenance",
        1,
    )


async def test_item_67_the_last_transient_response_is_returned(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = status(503, NO_INSTANCE_TEXT)
    response = await containers["transcoder"].get("a").fetch("/")
    assert (response.status_code, len(server.instance_calls())) == (503, 3)
    assert response.text == NO_INSTANCE_TEXT


async def test_item_68_attempts_1_disables_the_retry(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = status(503, NO_INSTANCE_TEXT)
    await containers["transcoder"].get("a", attempts=1).fetch("/")
    assert len(server.instance_calls()) == 1


async def test_custom_backoff(
    server: ConformanceServer, containers: Containers, clock: RecordingClock
) -> None:
    server.responder = status(429)
    await containers["transcoder"].get("a", attempts=4, backoff_ms=50, max_backoff_ms=120).fetch("/")
    assert clock.waits == [50, 100, 120]


async def test_item_69_a_prebuilt_request_is_sent_once(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = status(503, NO_INSTANCE_TEXT)
    await containers["transcoder"].get("a").fetch(httpx.Request("GET", "http://container/"))
    assert len(server.instance_calls()) == 1


async def test_a_streamed_body_is_sent_once(server: ConformanceServer, containers: Containers) -> None:
    async def body():  # type: ignore[no-untyped-def]
        yield b"one"
        yield b"two"

    server.responder = status(503, NO_INSTANCE_TEXT)
    await containers["transcoder"].get("a").fetch("/", method="POST", content=body())
    [seen] = server.instance_calls()
    assert seen.body == b"onetwo"


async def test_a_replayable_body_is_sent_whole_on_every_attempt(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = sequence(status(429), status(200))
    await containers["transcoder"].get("a").fetch("/", method="POST", content="payload")
    assert [seen.body for seen in server.instance_calls()] == [b"payload", b"payload"]


async def test_item_70_any_retries_cold_starts_too(server: ConformanceServer, containers: Containers) -> None:
    server.responder = sequence(status(503, NO_INSTANCE_TEXT), status(200))
    response = await containers["transcoder"].any().fetch("/")
    assert response.status_code == 200
    assert [seen.instance for seen in server.instance_calls()] == ["pool-0", "pool-0"]


async def test_a_non_transient_transport_error_is_raised_at_once(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = drop_connection()
    with pytest.raises(httpx.HTTPError):
        await containers["transcoder"].get("a").fetch("/")
    assert len(server.instance_calls()) == 1


async def test_stream_true_leaves_the_body_to_the_caller(
    server: ConformanceServer, containers: Containers
) -> None:
    server.responder = sequence(
        status(500, START_FAILURE_TEXT + "x" * 5000), status(500, "app " + "y" * 5000)
    )
    response = await containers["transcoder"].get("a").fetch("/", stream=True)
    body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert body == b"app " + b"y" * 5000
    await response.aclose()


# The reserved-path guard (item 92)


@pytest.mark.parametrize(
    "path",
    [
        "/__lunora/exec",
        "/foo/../__lunora/exec",
        "/\\__lunora\\exec",
        "/%5F%5Flunora/exec",
        "//__lunora//exec",
        "/%2e%2e/__lunora/exec",
        "/%255F%255Flunora/exec",
        "/x/..%2f__lunora/exec",
    ],
)
async def test_item_92_fetch_into_lunora_routes_is_refused(
    server: ConformanceServer, containers: Containers, path: str
) -> None:
    accessor = containers["runner"]
    for handle in (accessor.get("s"), accessor.any(), accessor.pool(), accessor.get("s").port(9090)):
        with pytest.raises(LunoraError, match="reserved for Lunora's own container routes") as raised:
            await handle.fetch(path)
        assert raised.value.code == "BAD_REQUEST"
    with pytest.raises(LunoraError, match="reserved"):
        await accessor.get("s").fetch(httpx.Request("GET", f"http://container{path}"))
    assert server.instance_calls() == []


async def test_item_92_lunora_status_is_allowed(server: ConformanceServer, containers: Containers) -> None:
    await containers["runner"].get("s").fetch("/__lunora-status")
    assert [seen.path for seen in server.instance_calls()] == ["/__lunora-status"]


async def test_dot_segments_are_resolved_before_sending(
    server: ConformanceServer, containers: Containers
) -> None:
    await containers["runner"].get("s").fetch("/a/./b/../c\\d")
    assert server.instance_calls()[0].path == "/a/c/d"


async def test_gateway_headers_ride_on_every_route(server: ConformanceServer) -> None:
    server.exec_responder = json_reply({"code": 0})
    async with Containers(server.base_url, headers={"x-gateway-key": "k1"}) as client:
        handle = client["t"].get("a")
        await handle.fetch("/")
        await handle.exec("ls")
        await handle.destroy()
    assert [s.headers.get("x-gateway-key") for s in server.seen] == ["k1", "k1", "k1"]
