"""A container of a local-mode app: its own step list (no Cloudflare call at all), the image
resolved or built and pushed where the cluster pulls, its instance Pods counted by state with
their selector, Ready when the router serves and the image is resolved, a count written only when
it changes, Secrets failing closed, and a deletion that asks nothing of Cloudflare."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from lunora_operator.api.status import EgressStatus
from lunora_operator.reconcile.conditions import IMAGE_READY, READY, RECONCILING, ROUTER_READY, find
from lunora_operator.reconcile.container import ResolvedImage
from lunora_operator.reconcile.errors import Waiting
from lunora_operator.reconcile.local_app import LocalSettings
from lunora_operator.reconcile.local_instances import InstancePod
from tests.support.local_control import LocalHarness, local_app_body, running_local_harness
from tests.support.reconcile import APP, NAMESPACE, container_body, secret_ref

ROUTER = f"{APP}-router"
BUILT = ResolvedImage("127.0.0.1:15000/team-a/demo-echocontainer:ctx-1", "sha256:" + "a" * 64, pushed=True)


@pytest.fixture
async def local() -> AsyncIterator[LocalHarness]:
    async with running_local_harness() as harness:
        harness.apply(local_app_body(local={"registry": "127.0.0.1:15000", "pullSecret": "registry"}))
        await harness.app_pass()
        harness.objects.roll_out(ROUTER)
        outcome = await harness.app_pass()
        assert outcome.error is None
        yield harness


def status_of(local: LocalHarness, name: str) -> dict[str, Any]:
    return dict(local.current("LunoraContainer", name)["status"])


def condition(status: dict[str, Any], kind: str) -> tuple[str, str, str]:
    found = find(status.get("conditions"), kind)
    assert found is not None, f"no {kind} in {status}"
    return found["status"], found["reason"], found["message"]


def pods(local: LocalHarness, name: str, *states: str) -> None:
    local.pods.pods[f"uid-lc-{name}"] = [
        InstancePod(f"{name}-{i}", f"uid-lc-{name}", state)  # type: ignore[arg-type]
        for i, state in enumerate(states)
    ]


async def test_a_registry_image_container_is_ready_behind_the_router(local: LocalHarness) -> None:
    local.apply(container_body("web", defaultPort=8080, maxInstances=4))
    pods(local, "web", "running", "running", "starting", "stopping", "stopped")

    error = await local.container_pass("web")

    assert error is None
    status = status_of(local, "web")
    assert condition(status, READY) == (
        "True", "Succeeded", f"runs docker.io/acme/web:1.0 behind router http://{ROUTER}.{NAMESPACE}.svc:8080",
    )  # fmt: skip
    assert condition(status, IMAGE_READY)[:2] == ("True", "Resolved")
    assert condition(status, ROUTER_READY)[:2] == ("True", "Available")
    assert status["mode"] == "local"
    assert status["image"] == {"ref": "docker.io/acme/web:1.0"}
    assert status["instances"] == {
        "max": 4,
        "running": 2,
        "starting": 1,
        "stopping": 1,
        "stopped": 1,
        "selector": "lunora.sh/app=demo,lunora.sh/container=web,lunora.sh/role=instance",
    }
    assert "applicationName" not in status
    assert local.fake.requests() == [], "local mode called Cloudflare"


async def test_a_built_image_is_pushed_and_recorded_for_the_router(local: LocalHarness) -> None:
    local.local_images.answers["echo"] = BUILT
    local.apply(container_body("echo", image={"build": {"context": {"path": "echo"}}}))

    assert await local.container_pass("echo") is None

    status = status_of(local, "echo")
    assert status["image"] == {"ref": BUILT.reference, "digest": BUILT.digest}
    assert condition(status, IMAGE_READY) == ("True", "Pushed", f"{BUILT.reference} ({BUILT.digest})")
    assert local.local_images.calls == ["echo"]
    assert ("echo", "Normal", "Pushed") in [(n, t, r) for n, t, r, _ in local.events]
    assert status["instances"]["max"] == 20  # the platform's default without maxInstances
    assert local.fake.requests() == []


async def test_counts_are_written_when_they_change_and_only_then(local: LocalHarness) -> None:
    local.apply(container_body("web"))
    assert await local.container_pass("web") is None
    before = len(local.kube.status_patches)

    assert await local.container_pass("web") is None
    assert len(local.kube.status_patches) == before, "an unchanged pass wrote the status"

    pods(local, "web", "starting")
    assert await local.container_pass("web") is None
    (patch,) = local.kube.status_patches[before:]
    assert patch.patch == {"instances": {"starting": 1}}


async def test_not_ready_while_the_router_is_not(local: LocalHarness) -> None:
    deployment = local.objects.get("Deployment", ROUTER)
    assert deployment is not None
    deployment["status"]["availableReplicas"] = 0
    await local.app_pass()
    local.apply(container_body("web"))

    error = await local.container_pass("web")

    assert isinstance(error, Waiting)
    status = status_of(local, "web")
    assert condition(status, READY)[:2] == ("False", "RouterNotReady")
    assert condition(status, RECONCILING)[0] == "True"
    assert condition(status, ROUTER_READY)[2].startswith(f"LunoraApp: router Deployment {ROUTER}: 0 of 1")
    assert condition(status, IMAGE_READY)[0] == "True"
    assert status["image"] == {"ref": "docker.io/acme/web:1.0"}, (
        "the image is recorded while the router starts"
    )


async def test_a_missing_secret_fails_closed_naming_it(local: LocalHarness) -> None:
    local.apply(container_body("web", secrets=[{"name": "API_KEY", "valueFrom": secret_ref("keys", "api")}]))

    error = await local.container_pass("web")

    assert isinstance(error, Waiting)
    assert error.reason == "SecretNotFound"
    assert f'Secret "{NAMESPACE}/keys" not found' in condition(status_of(local, "web"), READY)[2]


async def test_a_container_of_a_local_app_is_deleted_without_cloudflare(local: LocalHarness) -> None:
    local.apply(container_body("web"))
    assert await local.container_pass("web") is None
    body = local.current("LunoraContainer", "web")
    body["metadata"]["deletionTimestamp"] = "2026-01-02T00:00:00Z"

    await local.controller.finalize_container(body)
    local.remove("LunoraApp", APP)  # deleted together: the app gone first
    await local.controller.finalize_container(body)

    assert local.fake.requests() == []
    assert "ApplicationLeft" not in [reason for _, _, reason, _ in local.events]


def egress(allowed: int, denied: int, *hosts: str) -> EgressStatus:
    return EgressStatus(allowed=allowed, denied=denied, instances=1, recently_denied=list(hosts))


async def test_the_routers_egress_counts_are_the_containers_status_egress(local: LocalHarness) -> None:
    local.apply(container_body("web"))
    local.egress.answers[(NAMESPACE, APP, "web")] = egress(3, 1, "evil.example")

    assert await local.container_pass("web") is None

    assert status_of(local, "web")["egress"] == {
        "allowed": 3,
        "denied": 1,
        "instances": 1,
        "recentlyDenied": ["evil.example"],
    }
    assert local.egress.calls == [(NAMESPACE, APP, "web")]


async def test_egress_counts_are_written_when_they_change_and_only_then(local: LocalHarness) -> None:
    local.apply(container_body("web"))
    local.egress.answers[(NAMESPACE, APP, "web")] = egress(1, 0)
    assert await local.container_pass("web") is None
    before = len(local.kube.status_patches)

    assert await local.container_pass("web") is None
    assert len(local.kube.status_patches) == before, "the same counts were written again"

    local.egress.answers[(NAMESPACE, APP, "web")] = egress(1, 2, "a.example")
    assert await local.container_pass("web") is None
    (patch,) = local.kube.status_patches[before:]
    assert patch.patch == {"egress": {"denied": 2, "recentlyDenied": ["a.example"]}}


async def test_a_router_that_does_not_answer_leaves_the_counts_and_conditions_alone(
    local: LocalHarness,
) -> None:
    local.apply(container_body("web"))
    local.egress.answers[(NAMESPACE, APP, "web")] = egress(2, 1, "evil.example")
    assert await local.container_pass("web") is None
    said = status_of(local, "web")
    before = len(local.kube.status_patches)

    del local.egress.answers[(NAMESPACE, APP, "web")]
    assert await local.container_pass("web") is None

    assert len(local.kube.status_patches) == before, "an unknown count changed the status"
    assert status_of(local, "web")["egress"] == said["egress"]
    assert condition(status_of(local, "web"), READY)[0] == "True"


async def test_the_router_is_not_asked_for_counts_until_it_serves(local: LocalHarness) -> None:
    deployment = local.objects.get("Deployment", ROUTER)
    assert deployment is not None
    deployment["status"]["availableReplicas"] = 0
    await local.app_pass()
    local.apply(container_body("web"))

    assert isinstance(await local.container_pass("web"), Waiting)

    assert local.egress.calls == []
    assert "egress" not in status_of(local, "web")


async def test_a_router_outside_the_cluster_is_not_asked_for_counts() -> None:
    async with running_local_harness(LocalSettings(router=None)) as local:
        local.apply(local_app_body())
        assert (await local.app_pass()).error is None
        local.apply(container_body("web"))
        local.egress.answers[(NAMESPACE, APP, "web")] = egress(1, 1, "x.example")

        assert await local.container_pass("web") is None

        assert local.egress.calls == []
        assert "egress" not in status_of(local, "web")
