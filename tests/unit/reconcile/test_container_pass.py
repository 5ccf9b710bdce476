"""One pass over a container as its loop runs it: status writes only on change, Events only on
Ready flips, the progress status only for a new generation, the reconcile request echoed, and
the status reporting what Cloudflare runs (a held rollout waits for a person, not ready)."""

from __future__ import annotations

from typing import Any

from lunora_operator.api.status import LunoraContainerStatus
from lunora_operator.reconcile.conditions import DEPLOYED, READY, RECONCILING, STALLED, find
from lunora_operator.reconcile.container_pass import CONTAINERS
from lunora_operator.reconcile.errors import Held, Waiting
from lunora_operator.reconcile.records import REQUESTED_AT
from tests.support.cloudflare import TOKEN
from tests.support.kstatus import kstatus
from tests.support.reconcile import (
    BASE_CONFIG_MAP,
    TOKEN_SECRET,
    Harness,
    StatusPatch,
    container_body,
    holding_base,
)

HOLDING_BASE = holding_base("WebContainer")


def container_patches(harness: Harness) -> list[StatusPatch]:
    return [p for p in harness.kube.status_patches if p.plural == CONTAINERS]


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


async def settled_web(harness: Harness) -> dict[str, Any]:
    """Ready: the creating pass says what is (Deployed), not what it did, so nothing follows it."""
    web = await harness.ready_container()
    deployed = find(web["status"]["conditions"], DEPLOYED)
    assert deployed is not None
    assert deployed["reason"] == "Deployed"
    return web


async def held_web(harness: Harness) -> dict[str, Any]:
    """web deployed with image 1.0, then changed to 2.0 under rollout_kind "none"."""
    harness.kube.put_config_map(BASE_CONFIG_MAP, {"wrangler.jsonc": HOLDING_BASE})
    await harness.ready_container()
    changed = harness.apply(container_body("web", generation=2, image={"registry": "docker.io/acme/web:2.0"}))
    error = await harness.controller.reconcile_container(changed)
    assert isinstance(error, Held)
    return harness.current("LunoraContainer", "web")


async def test_an_unchanged_pass_writes_no_status_and_posts_no_event(harness: Harness) -> None:
    await settled_web(harness)
    assert [(name, kind, reason) for name, kind, reason, _ in harness.events] == [
        ("demo", "Normal", "Succeeded"),
        ("web", "Normal", "Succeeded"),
        ("web", "Normal", "Created"),
    ]
    patches = len(harness.kube.status_patches)
    writes = harness.controller.status.writes
    mutations = harness.mutations()

    error = await harness.controller.reconcile_container(harness.current("LunoraContainer", "web"))

    assert error is None
    assert len(harness.kube.status_patches) == patches
    assert harness.controller.status.writes == writes
    assert len(harness.events) == 3
    assert harness.mutations() == mutations
    assert len(harness.kube.config_map_writes) == 1


async def test_a_failure_after_ready_posts_one_warning_and_recovers_with_one_normal(harness: Harness) -> None:
    await harness.ready_container()
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
    await harness.ready_container()
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
    assert harness.current("LunoraContainer", "web")["status"]["instances"] == {"max": 4, "running": 0}


async def test_an_interrupted_generation_is_not_marked_progressing_twice(harness: Harness) -> None:
    await harness.ready_container()
    changed = harness.current("LunoraContainer", "web")
    changed["metadata"]["generation"] = 2
    harness.apply(changed)
    patches = len(harness.kube.status_patches)

    for _ in range(2):
        await harness.controller.status.mark_progressing(
            CONTAINERS, LunoraContainerStatus, harness.current("LunoraContainer", "web")
        )

    assert len(harness.kube.status_patches) == patches + 1


async def test_the_requested_reconcile_is_echoed_in_status(harness: Harness) -> None:
    await settled_web(harness)
    patches = len(container_patches(harness))
    requested = harness.current("LunoraContainer", "web")
    requested["metadata"]["annotations"] = {REQUESTED_AT: "2026-03-01T10:00:00Z"}

    await harness.controller.reconcile_container(requested)

    (patch,) = container_patches(harness)[patches:]
    assert patch.patch == {"lastHandledReconcileAt": "2026-03-01T10:00:00Z"}


async def test_a_held_rollout_is_not_ready_and_neither_reconciling_nor_stalled(harness: Harness) -> None:
    web = await held_web(harness)

    found = conditions(web["status"])
    assert found[DEPLOYED] == ("False", "RolloutHeld")
    assert found[READY] == ("False", "RolloutHeld")
    assert RECONCILING not in found
    assert STALLED not in found
    assert web["status"]["observedGeneration"] == 2
    assert kstatus(web) == "InProgress"  # waiting for a person, like a paused Deployment
    assert harness.fake.requests("applications.rollouts.create") == []


async def test_the_status_reports_the_image_and_instances_the_application_runs(harness: Harness) -> None:
    web = await held_web(harness)

    application = harness.fake.application("demo-webcontainer")
    assert application is not None
    assert application["configuration"]["image"] == "docker.io/acme/web:1.0"
    assert web["status"]["image"] == {"ref": "docker.io/acme/web:1.0"}  # what runs, not the spec's 2.0
    assert web["status"]["instances"] == {"max": application["max_instances"], "running": 0}


async def test_the_last_sync_time_moves_when_the_application_is_written_only(harness: Harness) -> None:
    created = (await settled_web(harness))["status"]["lastSyncTime"]
    assert created

    await harness.controller.reconcile_container(harness.current("LunoraContainer", "web"))
    assert harness.current("LunoraContainer", "web")["status"]["lastSyncTime"] == created

    harness.clock.advance(60)
    changed = harness.apply(container_body("web", generation=2, maxInstances=7))
    assert await harness.controller.reconcile_container(changed) is None
    assert harness.current("LunoraContainer", "web")["status"]["lastSyncTime"] != created
