"""One table of routes for the router and the client: every lifecycle call and exec the Python
client sends is one the router serves (nothing falls through to "does not expose"), and every
route the router serves is one the client uses."""

from __future__ import annotations

from lunora_operator import router_routes as routes
from lunora_operator.client import Containers
from lunora_operator.client.router import LIFECYCLE_ROUTES
from lunora_operator.local.lifecycle_api import ACTIONS, Services
from lunora_operator.local.pod_spec import PodSettings
from tests.unit.local.loopback import config, front_for, serving, upstream
from tests.unit.local.test_exec import RecordingExecutor


def test_the_router_serves_exactly_the_routes_the_client_sends() -> None:
    assert set(ACTIONS) == {*LIFECYCLE_ROUTES.values(), routes.EXEC_ROUTE}


async def test_50_72_the_client_reaches_every_lifecycle_call_and_exec_on_the_router() -> None:
    executor = RecordingExecutor()
    async with (
        serving(await upstream()) as port,
        front_for(
            config("image-resizer", export_name="imageResizer", default_port=port),
            services=Services(executor=executor),
            pod_settings=PodSettings(exec_helper_image="registry.local/lunora-exec:1"),
        ) as (router_port, _, kube),
        Containers(f"http://127.0.0.1:{router_port}") as containers,
    ):
        job = containers["imageResizer"].get("job-1")
        await job.start(env_vars={"MODE": "fast"})
        state = await job.get_state()
        await job.renew_activity_timeout()
        result = await job.exec("echo", args=["hi"])
        await job.stop("SIGKILL")
        await job.destroy()

        assert state["status"] == "running"
        assert result.stdout == "hi\n"
        assert len(executor.calls) == 1
        assert kube.deleted[0][1] == 0, "SIGKILL: no grace"
        assert "job-1" not in kube.overrides, "destroy() dropped the start override"
