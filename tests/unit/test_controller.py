"""The Controller's own logic: status writes only on change, Events only on Ready flips, the progress
patch only for a new generation, the Delete finalizer, and waking a loop only when needed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from lunora_operator.controller import CONTAINERS, REQUESTED_AT, transition_event
from lunora_operator.reconcile.conditions import READY, RECONCILING, find
from lunora_operator.reconcile.errors import StepError, Waiting
from lunora_operator.testing import Fault
from tests.support.cloudflare import TOKEN
from tests.support.reconcile import TOKEN_SECRET, Harness, StatusPatch, container_body, running_harness


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with running_harness() as running:
        yield running


def container_patches(harness: Harness) -> list[StatusPatch]:
    return [p for p in harness.kube.status_patches if p.plural == CONTAINERS]


def ready(status: str, reason: str = "R", message: str = "m") -> dict[str, Any]:
    return {"conditions": [{"type": READY, "status": status, "reason": reason, "message": message}]}


def test_an_event_only_when_ready_flips_or_first_appears() -> None:
    assert transition_event(None, ready("True", "Succeeded", "runs")) == ("Normal", "Succeeded", "runs")
    assert transition_event({}, ready("False", "SecretNotFound", "create it")) == (
        "Warning",
        "SecretNotFound",
        "create it",
    )
    assert transition_event(ready("False", "A"), ready("True", "Succeeded", "")) == (
        "Normal",
        "Succeeded",
        "ready",
    )
    assert transition_event(ready("True"), ready("False", "AuthFailed", "401")) == (
        "Warning",
        "AuthFailed",
        "401",
    )
    assert transition_event(ready("True", "Succeeded", "a"), ready("True", "Succeeded", "b")) is None
    assert transition_event(ready("False", "A", "a"), ready("False", "B", "b")) is None
    assert transition_event(ready("True"), ready("Unknown", "Progressing")) is None
    assert transition_event(ready("True"), {"conditions": []}) is None


async def _ready_web(harness: Harness, **spec: Any) -> dict[str, Any]:
    harness.apply(harness.app())
    body = harness.apply(container_body("web", **spec))
    error = await harness.controller.reconcile_container(body)
    assert error is None, error
    return harness.current("LunoraContainer", "web")


async def _settled_web(harness: Harness) -> dict[str, Any]:
    """Ready: the creating pass says what is (Deployed), not what it did, so nothing follows it."""
    await _ready_web(harness)
    deployed = find(harness.current("LunoraContainer", "web")["status"]["conditions"], "Deployed")
    assert deployed is not None
    assert deployed["reason"] == "Deployed"
    return harness.current("LunoraContainer", "web")


async def test_an_unchanged_pass_writes_no_status_and_posts_no_event(harness: Harness) -> None:
    await _settled_web(harness)
    assert [(name, kind, reason) for name, kind, reason, _ in harness.events] == [
        ("demo", "Normal", "Succeeded"),
        ("web", "Normal", "Succeeded"),
        ("web", "Normal", "Created"),
    ]
    patches = len(harness.kube.status_patches)
    writes = harness.controller.status_writes
    mutations = harness.mutations()

    error = await harness.controller.reconcile_container(harness.current("LunoraContainer", "web"))

    assert error is None
    assert len(harness.kube.status_patches) == patches
    assert harness.controller.status_writes == writes
    assert len(harness.events) == 3
    assert harness.mutations() == mutations
    assert len(harness.kube.config_map_writes) == 1


async def test_a_failure_after_ready_posts_one_warning_and_recovers_with_one_normal(harness: Harness) -> None:
    await _ready_web(harness)
    harness.kube.delete_secret(TOKEN_SECRET)

    for _ in range(2):
        error = await harness.controller.reconcile_container(harness.current("LunoraContainer", "web"))
        assert isinstance(error, Waiting)
    harness.kube.put_secret(TOKEN_SECRET, {"token": TOKEN})
    assert await harness.controller.reconcile_container(harness.current("LunoraContainer", "web")) is None

    assert [(kind, reason) for name, kind, reason, _ in harness.events if name == "web"] == [
        ("Normal", "Succeeded"),
        ("Normal", "Created"),
        ("Warning", "SecretNotFound"),
        ("Normal", "Succeeded"),
    ]


async def test_the_progress_patch_is_written_once_per_new_generation(harness: Harness) -> None:
    await _ready_web(harness)
    progress, final = container_patches(harness)
    assert "observedGeneration" not in progress.patch
    progress_ready = find(progress.patch["conditions"], READY)
    assert progress_ready is not None
    assert (progress_ready["status"], progress_ready["reason"]) == ("Unknown", "Progressing")
    assert find(progress.patch["conditions"], RECONCILING) is not None
    assert final.patch["observedGeneration"] == 1

    changed = harness.current("LunoraContainer", "web")
    changed["metadata"]["generation"] = 2
    changed["spec"]["maxInstances"] = 4
    harness.apply(changed)
    await harness.controller.reconcile_container(changed)

    new_progress, new_final = container_patches(harness)[2:]
    assert "observedGeneration" not in new_progress.patch
    progress_ready = find(new_progress.patch["conditions"], READY)
    assert progress_ready is not None
    assert {key: progress_ready[key] for key in ("status", "reason", "message", "observedGeneration")} == {
        "status": "Unknown",
        "reason": "Progressing",
        "message": "reconciling generation 2",
        "observedGeneration": 2,
    }
    assert new_final.patch["observedGeneration"] == 2
    assert harness.current("LunoraContainer", "web")["status"]["instances"] == {"max": 4}


async def test_an_interrupted_generation_is_not_marked_progressing_twice(harness: Harness) -> None:
    await _ready_web(harness)
    changed = harness.current("LunoraContainer", "web")
    changed["metadata"]["generation"] = 2
    harness.apply(changed)
    patches = len(harness.kube.status_patches)

    await harness.controller._mark_progressing(CONTAINERS, harness.current("LunoraContainer", "web"))
    await harness.controller._mark_progressing(CONTAINERS, harness.current("LunoraContainer", "web"))

    assert len(harness.kube.status_patches) == patches + 1


async def test_the_requested_reconcile_is_echoed_in_status(harness: Harness) -> None:
    await _settled_web(harness)
    patches = len(container_patches(harness))
    requested = harness.current("LunoraContainer", "web")
    requested["metadata"]["annotations"] = {REQUESTED_AT: "2026-03-01T10:00:00Z"}

    await harness.controller.reconcile_container(requested)

    (patch,) = container_patches(harness)[patches:]
    assert patch.patch == {"lastHandledReconcileAt": "2026-03-01T10:00:00Z"}


def _deleting(body: dict[str, Any]) -> dict[str, Any]:
    body["metadata"]["deletionTimestamp"] = "2026-01-02T00:00:00Z"
    return body


async def test_the_finalizer_deletes_the_application_then_renders_the_container_out(harness: Harness) -> None:
    body = await _ready_web(harness)
    harness.apply(container_body("api", created="2026-01-01T00:00:20Z"))
    await harness.controller.coordinator(harness.key).request()
    harness.fake.clear_requests()
    deleting = harness.apply(_deleting(body))

    await harness.controller.finalize_container(deleting)

    assert harness.fake.application("demo-webcontainer") is None
    config = harness.output_config()
    assert [c["class_name"] for c in config["containers"]] == ["ApiContainer"]
    assert config["migrations"][-1] == {"tag": "v3", "deleted_classes": ["WebContainer"]}
    operations = [r.operation for r in harness.mutations()]
    assert operations.index("applications.delete") < operations.index("workers.scripts.update")
    assert harness.uploads()[-1]["migrations"] == {
        "old_tag": "v2",
        "new_tag": "v3",
        "steps": [{"deleted_classes": ["WebContainer"]}],
    }
    assert "WebContainer" not in harness.fake.namespaces("demo")


async def test_the_finalizer_raises_until_the_container_has_left_the_worker(harness: Harness) -> None:
    deleting = harness.apply(_deleting(await _ready_web(harness)))

    harness.kube.delete_secret(TOKEN_SECRET)
    harness.controller.coordinator(harness.key).memory.account = None  # as after a restart
    with pytest.raises(Waiting, match="API token"):
        await harness.controller.finalize_container(deleting)
    assert harness.fake.application("demo-webcontainer") is not None

    harness.kube.put_secret(TOKEN_SECRET, {"token": TOKEN})
    harness.fake.inject("workers.scripts.update", Fault(status=400))
    with pytest.raises(StepError):
        await harness.controller.finalize_container(deleting)
    assert harness.fake.application("demo-webcontainer") is None
    assert "WebContainer" in harness.fake.namespaces("demo")

    await harness.controller.finalize_container(deleting)
    assert "WebContainer" not in harness.fake.namespaces("demo")


async def test_a_token_deleted_first_still_cleans_up_with_the_account_last_used(harness: Harness) -> None:
    """kubectl delete -f examples/: the token Secret goes before the containers."""
    deleting = harness.apply(_deleting(await _ready_web(harness)))
    harness.kube.delete_secret(TOKEN_SECRET)

    await harness.controller.finalize_container(deleting)

    assert harness.fake.application("demo-webcontainer") is None
    assert "WebContainer" not in harness.fake.namespaces("demo")


async def test_with_the_app_gone_the_application_is_deleted_with_the_account_last_used(
    harness: Harness,
) -> None:
    deleting = harness.apply(_deleting(await _ready_web(harness)))
    harness.remove("LunoraApp", "demo")
    harness.fake.clear_requests()

    await harness.controller.finalize_container(deleting)

    assert harness.fake.application("demo-webcontainer") is None
    assert [r.operation for r in harness.mutations()] == ["applications.delete"]  # no config left to upload


async def test_with_the_app_and_every_account_gone_the_application_is_left_with_a_warning(
    harness: Harness,
) -> None:
    deleting = harness.apply(_deleting(await _ready_web(harness)))
    harness.remove("LunoraApp", "demo")
    harness.controller.coordinator(harness.key).memory.account = None
    harness.fake.clear_requests()

    await harness.controller.finalize_container(deleting)

    assert harness.fake.requests() == []
    assert harness.events[-1][1:3] == ("Warning", "ApplicationLeft")


async def test_an_app_deleted_with_its_containers_waits_for_their_finalizers(harness: Harness) -> None:
    web = await _ready_web(harness)
    app = harness.current("LunoraApp", "demo")
    harness.apply(_deleting(web))

    with pytest.raises(Waiting, match="web"):
        await harness.controller.finalize_app(app)

    harness.remove("LunoraContainer", "web")
    await harness.controller.finalize_app(app)


async def test_notice_wakes_a_loop_only_for_a_new_generation_or_reconcile_request(harness: Harness) -> None:
    body = await _ready_web(harness)
    uid = body["metadata"]["uid"]
    wakeup = harness.controller.wakeup(uid)
    wakeup.event.clear()

    harness.controller.notice(uid, 1, None)  # a status write, a label: nothing to do
    assert not wakeup.event.is_set()

    harness.controller.notice(uid, 2, None)
    assert wakeup.event.is_set()
    wakeup.event.clear()

    harness.controller.notice(uid, 1, "2026-03-01T10:00:00Z")
    assert wakeup.event.is_set()
    wakeup.event.clear()

    requested = harness.current("LunoraContainer", "web")
    requested["metadata"]["annotations"] = {REQUESTED_AT: "2026-03-01T10:00:00Z"}
    await harness.controller.reconcile_container(requested)
    harness.controller.notice(uid, 1, "2026-03-01T10:00:00Z")
    assert not wakeup.event.is_set()


async def test_a_suspended_containers_new_spec_stays_out_of_the_config(harness: Harness) -> None:
    await _ready_web(harness, maxInstances=2)
    suspended = harness.current("LunoraContainer", "web")
    suspended["spec"].update(suspend=True, maxInstances=9)
    harness.apply(suspended)
    harness.fake.clear_requests()

    outcome = await harness.run_app(harness.controller.coordinator(harness.key).memory, observe=True)

    assert outcome.error is None, outcome.error
    assert [c["max_instances"] for c in harness.output_config()["containers"]] == [2]
    assert harness.mutations() == []


async def test_a_new_app_generation_is_marked_progressing_before_the_run(harness: Harness) -> None:
    await _ready_web(harness)
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
