"""`sleepAfter` and `hardTimeout` stop real instances; a WebSocket with traffic keeps one awake."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp

from tests.e2e.local.conftest import Router, container_manifest, live_pods
from tests.support.kube import KubeClients, wait_until
from tests.support.operator import Resources

pytest_plugins = ["tests.support.operator_fixtures"]


def test_sleep_after_stops_an_idle_instance_and_hard_timeout_a_busy_one(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    namespace: str,
) -> None:
    resources.apply(container_manifest("sleepy", instance_image, sleepAfter=3))
    resources.apply(container_manifest("capped", instance_image, hardTimeout=6, sleepAfter=60))
    front = router()
    started = time.monotonic()
    assert front.get("/capped/a/").status_code == 200
    assert front.get("/sleepy/a/").status_code == 200
    idle_since = time.monotonic()
    # Each run is its own Pod: the poll below may start a new run of "capped" the moment the
    # first one stops (start on demand), so the first run is followed by its Pod's name.
    first_run = {name: live_pods(kube, namespace, name) for name in ("sleepy", "capped")}
    assert all(len(pods) == 1 for pods in first_run.values()), first_run
    stopped: dict[str, float] = {}

    while len(stopped) < 2 and time.monotonic() - started < 20:
        for name in ("sleepy", "capped"):
            if name not in stopped and first_run[name][0] not in live_pods(kube, namespace, name):
                stopped[name] = time.monotonic()
        if "capped" not in stopped:
            front.get("/capped/a/")  # busy all along: only the hard timeout stops it
        time.sleep(0.2)

    assert 3 <= stopped["sleepy"] - idle_since < 4.5
    assert 6 <= stopped["capped"] - started < 8
    wait_until(lambda: state(front, "sleepy")["status"] == "stopped_with_code", "sleepy's exit seen", 10)
    assert state(front, "sleepy")["exitCode"] == 143, "SIGTERM, which the server answers by exiting"


def state(front: Router, container: str) -> dict[str, object]:
    return front.http.get(f"/_api/containers/{container}/instances/a/state").json()  # type: ignore[no-any-return]


async def test_a_websocket_with_traffic_keeps_an_instance_awake(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    namespace: str,
) -> None:
    resources.apply(
        container_manifest(
            "chat", instance_image, sleepAfter=2, env={"WS_PORT": "8081"}, requiredPorts=[8080, 8081]
        )
    )
    front = router()
    async with aiohttp.ClientSession() as session:
        socket = await session.ws_connect(
            f"{front.url}/chat/room-1/ws", headers={"cf-container-target-port": "8081"}
        )
        for n in range(8):  # 8 s of traffic, four times sleepAfter
            await socket.send_str(f"message {n}")
            assert (await socket.receive_str(timeout=5)) == f"message {n}"
            await asyncio.sleep(1)
        assert live_pods(kube, namespace, "chat"), "awake while the WebSocket carries traffic"
        await socket.close()
    await asyncio.to_thread(
        wait_until, lambda: not live_pods(kube, namespace, "chat"), "chat asleep after the socket closed", 10
    )
