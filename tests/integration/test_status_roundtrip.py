"""Every status the operator can write survives the real API server: each status model with every
field set, and the statuses a reconcile really writes (ready, held, stalled, the app's), are
written to the status subresource and read back with nothing pruned, so a field the CRD does
not declare (or declares differently) fails here instead of vanishing silently."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from lunora_operator.api.base import GROUP, VERSION
from lunora_operator.api.status import (
    AppContainerStatus,
    Condition,
    EgressStatus,
    ImageStatus,
    InstancesStatus,
    LunoraAppStatus,
    LunoraContainerStatus,
    RouterStatus,
)
from lunora_operator.reconcile.local_instances import InstancePod
from tests.support.corpus import cases
from tests.support.kube import KubeClients, Kubectl, install_lunora_crds
from tests.support.local_control import LocalHarness, local_app_body, running_local_harness
from tests.support.reconcile import BASE_CONFIG_MAP, Harness, container_body, holding_base, running_harness

NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
PLURALS = {"LunoraContainer": "lunoracontainers", "LunoraApp": "lunoraapps"}
HOLDING_BASE = holding_base("WebContainer")


def conditions() -> list[Condition]:
    return [
        Condition(
            type=kind,
            status=status,
            reason=reason,
            message=f"{kind} says so",
            observed_generation=4,
            last_transition_time=NOW,
        )
        for kind, status, reason in (
            ("Ready", "False", "RolloutHeld"),
            ("Reconciling", "True", "RollingOut"),
            ("Stalled", "True", "InvalidSpec"),
            ("Deployed", "False", "RolloutHeld"),
        )
    ]


FULL_CONTAINER = LunoraContainerStatus(
    observed_generation=4,
    last_handled_reconcile_at="2026-11-27T09:59:00Z",
    conditions=conditions(),
    mode="cloudflare",
    class_name="WebContainer",
    binding_name="CONTAINER_WEB",
    application_name="demo-webcontainer",
    application_id="a1b2c3d4-0000-4000-8000-000000000000",
    image=ImageStatus(ref="registry.cloudflare.com/acct/web:ctx-1", digest="sha256:" + "ab" * 32),
    migration_tag="v3",
    config_hash="sha256:" + "cd" * 32,
    instances=InstancesStatus(
        max=5, running=2, starting=1, stopping=1, stopped=3, selector="lunora.sh/container=web"
    ),
    egress=EgressStatus(allowed=4, denied=2, instances=1, recently_denied=["other.test", "denied.test"]),
    last_sync_time=NOW,
)
FULL_APP = LunoraAppStatus(
    observed_generation=2,
    last_handled_reconcile_at="2026-11-27T09:59:00Z",
    conditions=conditions(),
    mode="cloudflare",
    containers=[AppContainerStatus(name="web", class_name="WebContainer", binding_name="CONTAINER_WEB")],
    container_count=1,
    migration_tag="v3",
    config_hash="sha256:" + "ef" * 32,
    output_config_map="demo-wrangler",
    durable_object_namespace_ids={"WebContainer": "f" * 32},
    worker_etag="etag-1",
    worker_version_id="etag-1",
    router=RouterStatus(name="demo-router", url="http://demo-router.team-a.svc:8080"),
)


def unset_fields(model: BaseModel, prefix: str = "") -> list[str]:
    """Every declared field (at any depth) the instance leaves unset."""
    missing = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None:
            missing.append(prefix + name)
        elif isinstance(value, BaseModel):
            missing += unset_fields(value, f"{prefix}{name}.")
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            missing += unset_fields(value[0], f"{prefix}{name}[].")
    return missing


def test_the_full_statuses_set_every_declared_field() -> None:
    assert unset_fields(FULL_CONTAINER) == []
    assert unset_fields(FULL_APP) == []


@pytest.fixture(scope="module")
def crds(kubectl: Kubectl) -> None:
    install_lunora_crds(kubectl)


@pytest.fixture
def objects(crds: None, kubectl: Kubectl, namespace: str) -> str:
    """The smallest valid app and container, to write statuses onto."""
    for case_id in ("app-cloudflare", "container-minimal"):
        case = next(case for case in cases("valid") if case.id == case_id)
        kubectl("apply", "-n", namespace, "-f", "-", stdin=case.text)
    return namespace


def round_trip(
    kube: KubeClients, namespace: str, kind: str, name: str, status: dict[str, Any]
) -> dict[str, Any]:
    plural = PLURALS[kind]
    current = kube.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    # Replace the whole status: every field of the old one not in the new one is removed.
    patch = {"status": {**{key: None for key in current.get("status") or {}}, **status}}
    kube.custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, plural, name, patch)
    stored = kube.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    return dict(stored.get("status") or {})


def test_every_field_of_each_status_model_is_kept(kube: KubeClients, objects: str) -> None:
    container = FULL_CONTAINER.to_wire()
    app = FULL_APP.to_wire()

    assert round_trip(kube, objects, "LunoraContainer", "transcoder", container) == container
    assert round_trip(kube, objects, "LunoraApp", "demo", app) == app


@pytest.fixture
async def written() -> dict[str, dict[str, Any]]:
    """Statuses a reconcile really writes (in memory, against a FakeCloudflare), by situation."""
    found: dict[str, dict[str, Any]] = {}
    async with running_harness() as harness:
        await written_by(harness, found)
    async with running_local_harness() as local:
        await written_in_local_mode(local, found)
    return found


async def written_in_local_mode(local: LocalHarness, found: dict[str, dict[str, Any]]) -> None:
    local.apply(local_app_body())
    await local.app_pass()
    found["app local, router starting"] = local.current("LunoraApp", "demo")["status"]
    local.objects.roll_out("demo-router")
    await local.app_pass()
    found["app local, router ready"] = local.current("LunoraApp", "demo")["status"]
    local.apply(container_body("web", maxInstances=2))
    local.pods.pods["uid-lc-web"] = [InstancePod("web-a-r1", "uid-lc-web", "running")]
    await local.container_pass("web")
    found["container local, ready"] = local.current("LunoraContainer", "web")["status"]


async def written_by(harness: Harness, found: dict[str, dict[str, Any]]) -> None:
    harness.kube.put_config_map(BASE_CONFIG_MAP, {"wrangler.jsonc": HOLDING_BASE})
    web = await harness.ready_container(maxInstances=3)
    found["container ready"] = web["status"]
    found["app ready"] = harness.current("LunoraApp", "demo")["status"]
    held = harness.apply(container_body("web", generation=2, image={"registry": "docker.io/acme/web:2.0"}))
    await harness.controller.reconcile_container(held)
    found["container held"] = harness.current("LunoraContainer", "web")["status"]
    invalid = harness.apply(container_body("web", generation=3, defaultPort=70000))
    await harness.controller.reconcile_container(invalid)
    found["container stalled"] = harness.current("LunoraContainer", "web")["status"]


async def test_the_statuses_a_reconcile_writes_are_kept(
    kube: KubeClients, objects: str, written: dict[str, dict[str, Any]]
) -> None:
    for situation, status in written.items():
        kind, name = (
            ("LunoraApp", "demo") if situation.startswith("app") else ("LunoraContainer", "transcoder")
        )
        assert round_trip(kube, objects, kind, name, status) == status, situation
