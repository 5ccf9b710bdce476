"""The Controller's own wiring: watch events wake loops, a container that left is rendered out,
and once an app and all its containers are gone nothing is kept for them (its render, its
Cloudflare client)."""

from __future__ import annotations

from tests.support.reconcile import Harness, container_body


async def test_a_new_generation_wakes_the_objects_loop(harness: Harness) -> None:
    web = await harness.ready_container()
    wakeup = harness.controller.loops.wakeup(web["metadata"]["uid"])
    wakeup.event.clear()

    harness.controller.watched("MODIFIED", web)  # its own status write
    assert not wakeup.event.is_set()

    web["metadata"]["generation"] = 2
    harness.controller.watched("MODIFIED", web)
    assert wakeup.event.is_set()


async def test_a_deleted_container_is_rendered_out_of_its_apps_config(harness: Harness) -> None:
    web = await harness.ready_container()
    harness.apply(container_body("api", created="2026-01-01T00:00:20Z", deletionPolicy="Orphan"))
    assert await harness.controller.reconcile_container(harness.current("LunoraContainer", "api")) is None
    runs = harness.controller.renders.coordinator(harness.key).runs
    api = harness.current("LunoraContainer", "api")
    harness.remove("LunoraContainer", "api")

    harness.controller.watched("DELETED", api)
    await harness.controller.renders.settled()

    assert harness.controller.renders.coordinator(harness.key).runs == runs + 1
    assert [c["resource"] for c in harness.output_state()["containers"]] == ["web"]
    assert web["status"]["applicationName"] == "demo-webcontainer"


async def test_an_app_gone_with_all_its_containers_leaves_nothing_behind(harness: Harness) -> None:
    web = await harness.ready_container()
    app = harness.current("LunoraApp", "demo")
    account = harness.memory.account
    assert account is not None
    harness.remove("LunoraContainer", "web")
    harness.controller.watched("DELETED", web)
    assert harness.controller.renders.known(harness.key) is not None  # the app is still there
    harness.remove("LunoraApp", "demo")

    harness.controller.watched("DELETED", app)
    await harness.clients.retirements()

    assert harness.controller.renders.known(harness.key) is None
    assert account.sdk.is_closed()
