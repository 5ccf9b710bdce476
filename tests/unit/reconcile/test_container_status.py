"""A container's status facts: what the config says of it (its own entry, not its neighbours'),
what Cloudflare runs, and a digest only for the image it belongs to."""

from __future__ import annotations

from lunora_operator.reconcile.container import ResolvedImage
from tests.support.reconcile import (
    BASE_CONFIG_MAP,
    BUILT_IMAGE,
    Harness,
    container_body,
    holding_base,
)

BUILD = {"build": {"context": {"configMap": {"name": "jobs-context"}}}}


async def config_hash(harness: Harness, name: str) -> str:
    assert await harness.controller.reconcile_container(harness.current("LunoraContainer", name)) is None
    return str(harness.kube.status_of("lunoracontainers", name)["configHash"])


async def test_the_config_hash_follows_the_containers_own_entry_not_its_neighbours(harness: Harness) -> None:
    harness.apply(harness.app())
    harness.apply(container_body("web", maxInstances=3))
    first = await config_hash(harness, "web")

    harness.apply(container_body("api", created="2026-01-01T00:00:20Z"))
    await config_hash(harness, "api")
    after_neighbour = await config_hash(harness, "web")
    changed = harness.current("LunoraContainer", "web")
    changed["spec"]["maxInstances"] = 4
    harness.apply(changed)
    after_own_change = await config_hash(harness, "web")

    assert after_neighbour == first
    assert after_own_change != first


async def test_a_held_rebuild_keeps_the_running_images_digest(harness: Harness) -> None:
    harness.kube.put_config_map(BASE_CONFIG_MAP, {"wrangler.jsonc": holding_base("JobsContainer")})
    first_digest = "sha256:" + "ab" * 32
    harness.images.answers["jobs"] = ResolvedImage(BUILT_IMAGE, digest=first_digest, pushed=True)
    harness.apply(harness.app())
    harness.apply(container_body("jobs", image=BUILD))
    assert await harness.controller.reconcile_container(harness.current("LunoraContainer", "jobs")) is None

    rebuilt = BUILT_IMAGE.replace("ctx-1", "ctx-2")
    harness.images.answers["jobs"] = ResolvedImage(rebuilt, digest="sha256:" + "cd" * 32, pushed=True)
    changed = harness.apply(container_body("jobs", generation=2, image=BUILD))
    error = await harness.controller.reconcile_container(changed)

    assert error is not None
    assert error.reason == "RolloutHeld"
    # The application still runs the first build: its reference, with that build's digest.
    assert harness.kube.status_of("lunoracontainers", "jobs")["image"] == {
        "ref": BUILT_IMAGE,
        "digest": first_digest,
    }
