"""A local-mode app's own pass: its router's objects created (owned by the app, in order), Ready
once the router's Deployment serves, edits made outside patched back, a resync writing nothing,
a name taken by someone else or a refused call stalling with the words to fix it, external
routers, and deletion stopping the router before the instances. Cloudflare is never called."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from lunora_operator.reconcile.conditions import READY, ROUTER_READY, STALLED, find
from lunora_operator.reconcile.errors import Stalled, Waiting
from lunora_operator.reconcile.local_app import LocalSettings
from tests.support.local_control import (
    ROUTER_IMAGE,
    LocalHarness,
    local_app_body,
    running_local_harness,
)
from tests.support.reconcile import APP, NAMESPACE, Harness

ROUTER = f"{APP}-router"
POLICY = f"{APP}-instance-egress"
ORDER = [
    ("ServiceAccount", ROUTER),
    ("Role", ROUTER),
    ("RoleBinding", ROUTER),
    ("Service", ROUTER),
    ("NetworkPolicy", POLICY),
    ("Deployment", ROUTER),
]


@pytest.fixture
async def local() -> AsyncIterator[LocalHarness]:
    async with running_local_harness() as harness:
        yield harness


def condition(status: dict[str, Any], kind: str) -> tuple[str, str, str]:
    found = find(status.get("conditions"), kind)
    assert found is not None, f"no {kind} in {status}"
    return found["status"], found["reason"], found["message"]


async def serving_app(local: LocalHarness, **spec: Any) -> dict[str, Any]:
    local.apply(local_app_body(**spec))
    await local.app_pass()
    local.objects.roll_out(ROUTER)
    outcome = await local.app_pass()
    assert outcome.error is None, outcome.error
    return local.current("LunoraApp", APP)


async def test_the_router_objects_are_created_in_order_owned_by_the_app(local: LocalHarness) -> None:
    body = local.apply(local_app_body())
    outcome = await local.controller.reconcile_app(body)

    assert [(kind, name) for verb, kind, name in local.objects.writes()] == ORDER
    assert {verb for verb, _, _ in local.objects.writes()} == {"create"}
    for kind, name in ORDER:
        stored = local.objects.get(kind, name)
        assert stored is not None
        (owner,) = stored["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
            "LunoraApp", APP, f"uid-app-{APP}", True,
        )  # fmt: skip
    deployment = local.objects.get("Deployment", ROUTER)
    assert deployment is not None
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == ROUTER_IMAGE
    assert container["args"][:7] == [
        "router",
        "--namespace",
        NAMESPACE,
        "--app",
        APP,
        "--listen",
        "0.0.0.0:8080",
    ]
    # The Deployment exists but no Pod serves yet: the app waits for it, saying so.
    assert isinstance(outcome.error, Waiting)
    status = local.current("LunoraApp", APP)["status"]
    assert condition(status, ROUTER_READY)[:2] == ("False", "RouterNotReady")
    assert condition(status, ROUTER_READY)[2] == (
        f"router Deployment {ROUTER}: the Deployment controller has not acted on its latest template yet"
    )
    assert status["mode"] == "local"
    assert status["router"] == {"name": ROUTER, "url": f"http://{ROUTER}.{NAMESPACE}.svc:8080"}
    assert ("demo", "Normal", "RouterCreated") in [(n, t, r) for n, t, r, _ in local.events]
    assert local.fake.requests() == []


async def test_ready_once_the_router_serves_and_a_resync_writes_nothing(local: LocalHarness) -> None:
    app = await serving_app(local)
    status = app["status"]
    assert condition(status, READY)[:2] == ("True", "Succeeded")
    assert condition(status, ROUTER_READY) == (
        "True", "Available", f"router {ROUTER} serves at http://{ROUTER}.{NAMESPACE}.svc:8080",
    )  # fmt: skip
    writes, patches = len(local.objects.writes()), len(local.kube.status_patches)

    outcome = await local.app_pass()

    assert outcome.error is None
    assert len(local.objects.writes()) == writes, "a resync wrote a router object"
    assert len(local.kube.status_patches) == patches, "a resync wrote the status"
    assert local.fake.requests() == []


async def test_a_router_edited_outside_is_patched_back(local: LocalHarness) -> None:
    await serving_app(local)
    deployment = local.objects.get("Deployment", ROUTER)
    role = local.objects.get("Role", ROUTER)
    assert deployment is not None
    assert role is not None
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "evil.example/router:1"
    deployment["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    role["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]})
    writes = len(local.objects.writes())

    await local.app_pass()

    assert local.objects.writes()[writes:] == [("patch", "Role", ROUTER), ("patch", "Deployment", ROUTER)]
    restored = local.objects.get("Deployment", ROUTER)
    assert restored is not None
    assert restored["spec"]["template"]["spec"]["containers"][0]["image"] == ROUTER_IMAGE
    assert {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]} not in local.objects.get(
        "Role", ROUTER
    )["rules"]  # type: ignore[index]
    assert ("demo", "Normal", "RouterUpdated") in [(n, t, r) for n, t, r, _ in local.events]


async def test_defaults_the_api_server_adds_are_not_drift(local: LocalHarness) -> None:
    await serving_app(local)
    service = local.objects.get("Service", ROUTER)
    assert service is not None
    service["spec"].update(clusterIP="10.96.0.10", sessionAffinity="None")
    service["spec"]["ports"][0]["nodePort"] = None
    writes = len(local.objects.writes())

    await local.app_pass()

    assert local.objects.writes()[writes:] == []


async def test_an_object_of_the_routers_name_that_is_someone_elses_stalls(local: LocalHarness) -> None:
    local.objects.put({"apiVersion": "v1", "kind": "Service", "metadata": {"name": ROUTER}, "spec": {}})
    body = local.apply(local_app_body())

    outcome = await local.controller.reconcile_app(body)

    assert isinstance(outcome.error, Stalled)
    assert outcome.error.reason == "RouterNameTaken"
    assert (
        f'Service "{NAMESPACE}/{ROUTER}" exists and does not belong to LunoraApp {APP}'
        in outcome.error.message
    )
    assert not [w for w in local.objects.writes() if w[1] in ("Service", "Deployment")]
    assert condition(local.current("LunoraApp", APP)["status"], STALLED)[1] == "RouterNameTaken"


async def test_a_refused_call_stalls_naming_it(local: LocalHarness) -> None:
    local.objects.refuse.add(("create", "Role"))
    body = local.apply(local_app_body())

    outcome = await local.controller.reconcile_app(body)

    assert isinstance(outcome.error, Stalled)
    assert outcome.error.reason == "KubernetesRefused"
    assert "create Role demo-router failed: 403 Forbidden" in outcome.error.message


async def test_a_router_that_does_not_start_says_why(local: LocalHarness) -> None:
    local.objects.put(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{ROUTER}-abc",
                "labels": {"lunora.sh/app": APP, "lunora.sh/role": "router"},
            },
            "status": {
                "containerStatuses": [
                    {"state": {"waiting": {"reason": "ImagePullBackOff", "message": "pull access denied"}}}
                ]
            },
        }
    )
    body = local.apply(local_app_body())

    await local.controller.reconcile_app(body)

    message = condition(local.current("LunoraApp", APP)["status"], ROUTER_READY)[2]
    assert message.endswith("; its Pod: ImagePullBackOff: pull access denied"), message


async def test_external_routers_need_no_objects() -> None:
    async with running_local_harness(LocalSettings(router=None)) as local:
        body = local.apply(local_app_body())

        outcome = await local.controller.reconcile_app(body)

        assert outcome.error is None
        assert local.objects.requests == []
        status = local.current("LunoraApp", APP)["status"]
        assert condition(status, ROUTER_READY)[:2] == ("True", "External")
        assert "router" not in status
        assert status["mode"] == "local"


def pod(name: str, role: str, app: str = APP) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"lunora.sh/app": app, "lunora.sh/role": role}},
    }


async def test_deleting_the_app_stops_its_router_then_its_instances(local: LocalHarness) -> None:
    await serving_app(local)
    local.objects.put(pod(f"{ROUTER}-abc", "router"))
    for name in ("web-1", "web-2"):
        local.objects.put(pod(name, "instance"))
    local.objects.put(pod("other-1", "instance", app="other"))
    body = local.current("LunoraApp", APP)

    with pytest.raises(Waiting) as waiting:
        await local.controller.finalize_app(body)

    assert waiting.value.reason == "RouterStopping"
    assert local.objects.get("Deployment", ROUTER) is None
    assert local.objects.get("Pod", "web-1") is not None, "instances stopped while the router still ran"

    del local.objects.stored[("Pod", NAMESPACE, f"{ROUTER}-abc")]  # the router Pod has stopped
    await local.controller.finalize_app(body)

    assert local.objects.get("Pod", "web-1") is None
    assert local.objects.get("Pod", "web-2") is None
    assert local.objects.get("Pod", "other-1") is not None
    assert local.fake.requests() == []


async def test_without_local_mode_wired_a_local_app_stalls_saying_how_to_run_it(harness: Harness) -> None:
    body = harness.apply(local_app_body())

    outcome = await harness.controller.reconcile_app(body)

    assert isinstance(outcome.error, Stalled)
    assert outcome.error.reason == "LocalModeNotConfigured"
    assert "--router-image" in outcome.error.message
    assert harness.current("LunoraApp", APP)["status"]["mode"] == "local"
