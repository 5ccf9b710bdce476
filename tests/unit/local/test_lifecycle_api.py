"""The router's lifecycle API: the calls Lunora's instance handles forward to their Durable Object
(conformance items 50, 122–124), and the inventory the operator reports as status.instances."""

from __future__ import annotations

from aiohttp import web

from tests.unit.local.loopback import config, router_for, serving

BASE = "/_api/containers/web/instances"


async def upstream() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


async def test_50_start_state_stop_destroy() -> None:
    async with (
        serving(await upstream()) as port,
        router_for(config(default_port=port)) as (client, _fleet, kube),
    ):
        started = await client.post(
            f"{BASE}/job-1/start", json={"envVars": {"TOKEN": "t"}, "labels": {"job": "1"}}
        )
        state = await client.get(f"{BASE}/job-1/state")
        conflict = await client.post(f"{BASE}/job-1/start", json={"envVars": {"TOKEN": "other"}})
        renewed = await client.post(f"{BASE}/job-1/renew")
        stopped = await client.post(f"{BASE}/job-1/stop", json={"signal": "SIGKILL"})
        destroyed = await client.post(f"{BASE}/job-1/destroy")

        assert started.status == 200
        assert (await started.json())["status"] == "running", "start() does not wait for ports"
        assert (await state.json())["status"] == "running"
        assert conflict.status == 409
        assert (await conflict.json())["code"] == "CONFLICT"
        assert renewed.status == 200
        assert stopped.status == 200
        assert kube.deleted[0][1] == 0
        assert destroyed.status == 200
        assert "job-1" not in kube.overrides


async def test_bad_bodies_and_unknown_names_get_lunoras_codes() -> None:
    async with router_for(config()) as (client, _, _):
        bad = await client.post(f"{BASE}/a/start", json={"envVars": {"BAD-NAME": "1"}})
        not_json = await client.post(
            f"{BASE}/a/start", data=b"{", headers={"Content-Type": "application/json"}
        )
        signal = await client.post(f"{BASE}/a/stop", json={"signal": "SIGHUP"})
        unknown = await client.get("/_api/containers/nope/instances/a/state")
        verb = await client.post(f"{BASE}/a/explode")

        assert bad.status == 400
        assert (await bad.json()) == {
            "code": "BAD_REQUEST",
            "message": '`envVars` name "BAD-NAME" is not a valid environment variable name',
        }
        assert not_json.status == 400
        assert signal.status == 400
        assert unknown.status == 404
        assert verb.status == 404


async def test_ids_with_slashes_are_addressed_percent_encoded() -> None:
    async with serving(await upstream()) as port, router_for(config(default_port=port)) as (client, fleet, _):
        await client.get("/web/user%2F7/")
        state = await client.get(f"{BASE}/user%2F7/state")

        assert (await state.json())["status"] == "healthy"
        assert fleet.instance("web", "user/7").state()["status"] == "healthy"


async def test_the_inventory_counts_instances_by_state() -> None:
    async with (
        serving(await upstream()) as port,
        router_for(config(default_port=port, max_instances=5)) as (client, _, _),
    ):
        await client.get("/web/a/")
        await client.get("/web/b/")
        health = await client.get("/_api/healthz")
        inventory = await (await client.get("/_api/instances")).json()

        assert health.status == 200
        web_ = inventory["containers"]["web"]
        assert (web_["maxInstances"], web_["running"], web_["byState"]) == (5, 2, {"healthy": 2})
        assert sorted(i["id"] for i in web_["instances"]) == ["a", "b"]
