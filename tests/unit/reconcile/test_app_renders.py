"""Each app's shared run: the progress status for a new generation, the app's status and
Events, and the containers that waited on the app's error woken once it clears."""

from __future__ import annotations

from lunora_operator.reconcile.conditions import READY, find
from tests.support.reconcile import BASE_CONFIG_MAP, Harness, container_body


async def test_a_new_app_generation_is_marked_progressing_before_the_run(harness: Harness) -> None:
    await harness.ready_container()
    app = harness.current("LunoraApp", "demo")
    app["metadata"]["generation"] = 2
    harness.apply(app)
    before = len(harness.kube.status_patches)

    await harness.controller.reconcile_app(harness.current("LunoraApp", "demo"))

    progress, final = [p for p in harness.kube.status_patches[before:] if p.plural == "lunoraapps"]
    progress_ready = find(progress.patch["conditions"], READY)
    assert progress_ready is not None
    assert (progress_ready["status"], progress_ready["reason"]) == ("Unknown", "Progressing")
    assert "observedGeneration" not in progress.patch
    assert final.patch["observedGeneration"] == 2


async def test_the_containers_stopped_at_the_apps_error_are_woken_once_it_clears(harness: Harness) -> None:
    harness.kube.delete_config_map(BASE_CONFIG_MAP)
    harness.apply(harness.app())
    web = harness.apply(container_body("web"))
    error = await harness.controller.reconcile_container(web)
    assert error is not None
    assert error.reason == "ConfigMapNotFound"
    wakeup = harness.controller.loops.wakeup(web["metadata"]["uid"])
    wakeup.event.clear()

    harness.kube.put_config_map(BASE_CONFIG_MAP, {"wrangler.jsonc": "{}"})
    outcome = await harness.controller.renders.request(harness.key)

    assert outcome.error is None
    assert wakeup.event.is_set()


async def test_the_app_status_reports_its_render_and_the_worker_etag(harness: Harness) -> None:
    await harness.ready_container()

    status = harness.current("LunoraApp", "demo")["status"]

    etag = status["workerEtag"]
    assert etag
    assert status["workerVersionId"] == etag  # the old name still written for the tools that read it
    assert status["containers"] == [
        {"name": "web", "className": "WebContainer", "bindingName": "CONTAINER_WEB"}
    ]
    assert status["containerCount"] == 1
    assert status["outputConfigMap"] == "demo-wrangler"
    assert set(status["durableObjectNamespaceIds"]) == {"WebContainer"}
