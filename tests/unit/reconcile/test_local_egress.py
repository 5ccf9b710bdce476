"""A container's egress counts read from its app's router: a ready router Pod asked at its IP (a
real aiohttp server on 127.0.0.1 stands for it), its answer kept within the status schema, and
anything short of an answer — no ready Pod, a refusal, no listener, a Pod list that fails —
read as "unknown", never as an error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiohttp import web

from lunora_operator.api.status import MAX_HOST, RECENTLY_DENIED, EgressStatus
from lunora_operator.kube.gateway import KubeUnavailable
from lunora_operator.kube.objects import ObjectKind
from lunora_operator.reconcile.local_egress import PodRouterEgress, egress_status, ready_router_ip
from tests.unit.local.loopback import serving

COUNTS = {"allowed": 3, "denied": 1, "instances": 2, "recentlyDenied": ["evil.example"]}


def router_pod(
    name: str, ip: str | None = "127.0.0.1", ready: bool = True, deleting: bool = False
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status: dict[str, Any] = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip is not None:
        status["podIP"] = ip
    return {"metadata": metadata, "status": status}


class RouterPods:
    def __init__(self, *pods: Mapping[str, Any], fail: bool = False) -> None:
        self.pods = list(pods)
        self.fail = fail
        self.selectors: list[tuple[str, str]] = []

    async def list(self, kind: ObjectKind, namespace: str, label_selector: str) -> list[Mapping[str, Any]]:
        self.selectors.append((namespace, label_selector))
        if self.fail:
            raise KubeUnavailable("listing Pods in ns failed: 503 Service Unavailable")
        return self.pods


def test_the_answer_becomes_the_status() -> None:
    assert egress_status(COUNTS) == EgressStatus(
        allowed=3, denied=1, instances=2, recently_denied=["evil.example"]
    )


def test_hosts_the_schema_cannot_hold_are_left_out() -> None:
    hosts = ["x" * (MAX_HOST + 1), *(f"h{i}.example" for i in range(RECENTLY_DENIED + 2)), ""]

    status = egress_status({**COUNTS, "recentlyDenied": hosts})

    assert status is not None
    assert status.recently_denied == [f"h{i}.example" for i in range(2, RECENTLY_DENIED + 2)]


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"allowed": 1, "denied": 0, "instances": 1},
        {**COUNTS, "allowed": "3"},
        {**COUNTS, "denied": -1},
        {**COUNTS, "instances": True},
        {**COUNTS, "recentlyDenied": "evil.example"},
    ],
)
def test_an_answer_that_is_not_the_counts_is_unknown(body: Any) -> None:
    assert egress_status(body) is None


def test_the_first_ready_router_pod_by_name_is_asked() -> None:
    pods = [
        router_pod("r-d", "10.0.0.4"),
        router_pod("r-a", "10.0.0.1", ready=False),
        router_pod("r-b", "10.0.0.2", deleting=True),
        router_pod("r-c", None),
        router_pod("r-e", "10.0.0.5"),
    ]

    assert ready_router_ip(pods) == "10.0.0.4"
    assert ready_router_ip(pods[1:4]) is None


async def test_a_ready_router_pod_is_asked_for_the_containers_counts() -> None:
    asked: list[str] = []

    async def counts(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.json_response(COUNTS)

    app = web.Application()
    app.router.add_get("/_api/containers/{container}/egress", counts)
    pods = RouterPods(router_pod("demo-router-1"))
    async with serving(app) as port:
        status = await PodRouterEgress(pods, port=port).summary("ns", "demo", "web")

    assert status == egress_status(COUNTS)
    assert asked == ["/_api/containers/web/egress"]
    assert pods.selectors == [("ns", "lunora.sh/app=demo,lunora.sh/role=router")]


async def test_a_refusal_is_unknown() -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"code": "NOT_IMPLEMENTED", "message": "no proxy"}, status=501)

    app = web.Application()
    app.router.add_get("/_api/containers/{container}/egress", refuse)
    async with serving(app) as port:
        assert (
            await PodRouterEgress(RouterPods(router_pod("r")), port=port).summary("ns", "demo", "web") is None
        )


async def test_no_listener_no_ready_pod_or_no_pod_list_is_unknown() -> None:
    assert await PodRouterEgress(RouterPods(router_pod("r")), port=9).summary("ns", "demo", "web") is None
    assert (
        await PodRouterEgress(RouterPods(router_pod("r", ready=False))).summary("ns", "demo", "web") is None
    )
    assert await PodRouterEgress(RouterPods(fail=True)).summary("ns", "demo", "web") is None
