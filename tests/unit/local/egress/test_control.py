from __future__ import annotations

import json

from aiohttp.test_utils import TestClient, TestServer

from lunora_operator.local.egress.annotations import runtime_annotation
from lunora_operator.local.egress.control import RuntimeStoreFailed, control_app, health_app
from lunora_operator.local.egress.decisions import Channel, DecisionRecorder
from lunora_operator.local.egress.instances import Instance, InstanceDirectory
from lunora_operator.local.egress.rules import Decision, InstanceRules, Rule
from tests.unit.local.egress.support import declared, pod


class RecordingStore:
    """Stands in for the Pod patch: what each change would write onto the instance's Pod."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.written: list[tuple[str, str]] = []
        self.failure = failure

    async def __call__(self, instance: Instance, rules: InstanceRules) -> None:
        if self.failure is not None:
            raise self.failure
        self.written.append((instance.uid, runtime_annotation(rules)))


async def client(
    directory: InstanceDirectory, recorder: DecisionRecorder, store: RecordingStore | None = None
) -> TestClient:  # type: ignore[type-arg]
    test_client = TestClient(TestServer(control_app(directory, recorder, store or RecordingStore())))
    await test_client.start_server()
    return test_client


async def test_each_change_applies_to_its_instance_and_is_shown() -> None:
    directory = InstanceDirectory()
    directory.apply(
        "ADDED", pod("u1", "10.0.0.5", annotations=declared(enable_internet=False, allowed_hosts=["a.test"]))
    )
    store = RecordingStore()
    http = await client(directory, DecisionRecorder(), store)
    try:
        steps = [
            ("allow", {"host": "b.test"}, ["a.test", "b.test"], None),
            ("deny", {"host": "c.test"}, ["a.test", "b.test"], ["c.test"]),
            ("remove_allowed", {"host": "a.test"}, ["b.test"], ["c.test"]),
            ("remove_denied", {"host": "c.test"}, ["b.test"], []),
            ("set_allowed", {"hosts": ["x.test"]}, ["x.test"], []),
            ("set_denied", {"hosts": ["y.test", "z.test"]}, ["x.test"], ["y.test", "z.test"]),
        ]
        for op, body, allowed, denied in steps:
            response = await http.post(f"/v1/instances/u1/egress/{op}", json=body)
            assert response.status == 200, await response.text()
            shown = await response.json()
            assert (shown["effective"]["allowedHosts"], shown["effective"]["deniedHosts"]) == (
                allowed,
                denied,
            )
            assert shown["declared"]["allowedHosts"] == ["a.test"]
            lists = {"allowedHosts": allowed, "deniedHosts": denied}
            written = {key: hosts for key, hosts in lists.items() if hosts is not None}
            assert store.written[-1] == ("u1", json.dumps(written)), "a list is written once changed"
        assert len(store.written) == len(steps), "each change is written onto the Pod once"
    finally:
        await http.close()


async def test_a_change_that_cannot_be_written_onto_the_pod_is_not_made() -> None:
    directory = InstanceDirectory()
    directory.apply("ADDED", pod("u1", "10.0.0.5", annotations=declared(enable_internet=False)))
    failure = RuntimeStoreFailed("could not record the change on Pod ns/pod-u1 (403 Forbidden)")
    http = await client(directory, DecisionRecorder(), RecordingStore(failure))
    try:
        response = await http.post("/v1/instances/u1/egress/allow", json={"host": "b.test"})
        assert (response.status, await response.text()) == (503, f"{failure}\n")
        shown = await (await http.get("/v1/instances/u1/egress")).json()
        assert shown["effective"]["allowedHosts"] is None
    finally:
        await http.close()


async def test_refusals_name_the_problem() -> None:
    directory = InstanceDirectory()
    directory.apply("ADDED", pod("u1", "10.0.0.5"))
    http = await client(directory, DecisionRecorder())
    try:
        response = await http.post("/v1/instances/nope/egress/allow", json={"host": "a.test"})
        assert (response.status, await response.text()) == (404, "no instance Pod with uid nope\n")
        response = await http.post("/v1/instances/u1/egress/allow", json={"hosts": ["a.test"]})
        assert response.status == 400
        assert '{"host": "<host name or glob>"}' in await response.text()
        response = await http.post(
            "/v1/instances/u1/egress/allow", data=b"{", headers={"content-type": "application/json"}
        )
        assert response.status == 400
        assert "not JSON" in await response.text()
    finally:
        await http.close()


async def test_status_views_and_metrics() -> None:
    directory = InstanceDirectory()
    recorder = DecisionRecorder()
    directory.apply("ADDED", pod("u1", "10.0.0.5", container="web"))
    recorder.record(directory.instance("u1"), "x.test", Channel.HTTP, Decision(False, Rule.DEFAULT))
    http = await client(directory, recorder)
    try:
        assert await (await http.get("/v1/containers/web/egress")).json() == {
            "allowed": 0,
            "denied": 1,
            "instances": 1,
            "recentlyDenied": ["x.test"],
        }
        listing = await (await http.get("/v1/instances")).json()
        assert [i["uid"] for i in listing["instances"]] == ["u1"]
        assert listing["instances"][0]["decisions"]["denied"] == 1
        assert "lunora_egress_decisions_total" in await (await http.get("/metrics")).text()
        assert (await http.get("/healthz")).status == 200
    finally:
        await http.close()


async def test_the_health_app_serves_healthz_and_nothing_of_the_control_api() -> None:
    http = TestClient(TestServer(health_app()))
    await http.start_server()
    try:
        assert (await http.get("/healthz")).status == 200
        assert (await http.get("/v1/instances")).status == 404
        assert (await http.post("/v1/instances/u1/egress/allow", json={"host": "a.test"})).status == 404
        assert (await http.get("/metrics")).status == 404
    finally:
        await http.close()
