"""Local mode's control loop against the real cluster: the app's router objects made by the
operator's own step list through its Kubernetes edge, the Deployment rolled out by the real
Deployment controller and kubelet, the garbage collector removing what the app owned, and a
deleted app stopping its router before its instances.

The router here is a stand-in image (busybox httpd answering the readiness path as
`lunora-operator`), so this tier needs no operator image; tests/e2e/test_local_incluster.py runs
the real one."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from lunora_operator.images.push import push_image
from lunora_operator.kube.objects import KINDS, POD, KubeObjects, Obj, ObjectKind
from lunora_operator.local import names
from lunora_operator.local.router_objects import RouterTemplate
from lunora_operator.reconcile.app_run import AppOutcome
from lunora_operator.reconcile.conditions import ROUTER_READY
from lunora_operator.reconcile.errors import StepError
from lunora_operator.reconcile.local_app import LocalAppPipeline, LocalSettings
from lunora_operator.reconcile.records import AppRecord
from lunora_operator.reconcile.status import StatusDraft
from lunora_operator.testing.environment import TestEnvironment
from tests.support.kube import KubeClients, Kubectl
from tests.support.local_mode import APP, PULL_SECRET, create_local_app
from tests.support.registry import TestRegistry

pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry, pytest.mark.timeout(300)]
T = TypeVar("T")
ROUTER = names.router_name(APP)
STAND_IN = """\
#!/bin/sh
# Stands in for `lunora-operator router` and `egress-proxy` (the router Pod's two containers):
# serves each one's readiness path on its port, ignores the other arguments.
case "$1" in
  egress-proxy) exec httpd -f -p 3130 -h /www ;;
  *) exec httpd -f -p 8080 -h /www ;;
esac
"""
POLICY = f"{APP}-instance-egress"
NAMED = {"NetworkPolicy": POLICY}
"""Each object is named after the router, but for these."""


@dataclass
class RecordingObjects:
    """The operator's real Kubernetes edge, every request recorded as (verb, kind)."""

    inner: KubeObjects
    requests: list[tuple[str, str]] = field(default_factory=list)

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] not in ("get", "list")]

    async def observe(self, kind: ObjectKind, namespace: str, name: str) -> Obj | None:
        self.requests.append(("get", kind.kind))
        return await self.inner.observe(kind, namespace, name)

    async def create(self, kind: ObjectKind, namespace: str, body: Mapping[str, Any]) -> Obj:
        self.requests.append(("create", kind.kind))
        return await self.inner.create(kind, namespace, body)

    async def patch(self, kind: ObjectKind, namespace: str, name: str, patch: Mapping[str, Any]) -> Obj:
        self.requests.append(("patch", kind.kind))
        return await self.inner.patch(kind, namespace, name, patch)

    async def delete(self, kind: ObjectKind, namespace: str, name: str) -> bool:
        self.requests.append(("delete", kind.kind))
        return await self.inner.delete(kind, namespace, name)

    async def list(self, kind: ObjectKind, namespace: str, label_selector: str) -> list[Obj]:
        self.requests.append(("list", kind.kind))
        return await self.inner.list(kind, namespace, label_selector)


@pytest.fixture(scope="module")
def stand_in_image(
    docker_client: Any,
    registry: TestRegistry,
    testenv: TestEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    context: Path = tmp_path_factory.mktemp("stand-in-router")
    (context / "www" / "_api").mkdir(parents=True)
    (context / "www" / "_api" / "healthz").write_text("ok\n")
    (context / "www" / "healthz").write_text("ok\n")
    (context / "lunora-operator").write_text(STAND_IN)
    (context / "lunora-operator").chmod(0o755)
    (context / "Dockerfile").write_text(
        "ARG BASE\nFROM $BASE\nCOPY lunora-operator /bin/lunora-operator\nCOPY www /www\n"
    )
    repository = registry.repository("lunora-test/stand-in-router")
    docker_client.images.build(
        path=str(context), tag=f"{repository}:2", buildargs={"BASE": testenv.base_image}
    )
    return push_image(docker_client.api, repository, "2", registry.auth).reference


@dataclass
class LocalApp:
    kube: KubeClients
    namespace: str
    objects: RecordingObjects

    def body(self) -> dict[str, Any]:
        found = self.kube.custom.get_namespaced_custom_object(
            "lunora.sh", "v1alpha1", self.namespace, "lunoraapps", APP
        )
        return dict(found)

    def pipeline(self, image: str) -> LocalAppPipeline:
        return LocalAppPipeline(self.objects, LocalSettings(router=RouterTemplate(image)))

    async def run(self, image: str) -> AppOutcome:
        record = AppRecord.from_body(self.body())
        return await self.pipeline(image).run(record, record.resource(), StatusDraft(record.generation))

    async def stored(self, kind: str) -> Obj | None:
        return await self.objects.inner.observe(KINDS[kind], self.namespace, NAMED.get(kind, ROUTER))


@pytest.fixture
def local(kube: KubeClients, kubectl: Kubectl, testenv: TestEnvironment, namespace: str) -> LocalApp:
    create_local_app(kube, kubectl, testenv, namespace)
    return LocalApp(kube, namespace, RecordingObjects(KubeObjects(kube.api)))


async def until(what: str, attempt: Callable[[], Awaitable[T | None]], seconds: float = 120) -> T:
    """Repeats `attempt` (a pass, as the operator's retries would) until it gives something."""
    deadline = time.monotonic() + seconds
    while True:
        value = await attempt()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.5)


def router_ready(outcome: AppOutcome) -> tuple[str, str, str]:
    said = outcome.draft.conditions[ROUTER_READY]
    return said.status, said.reason, said.message


async def test_the_first_pass_creates_the_router_owned_by_the_app_and_a_resync_sends_no_write(
    local: LocalApp, stand_in_image: str
) -> None:
    first = await local.run(stand_in_image)

    assert local.objects.writes() == [
        ("create", kind)
        for kind in ("ServiceAccount", "Role", "RoleBinding", "Service", "NetworkPolicy", "Deployment")
    ]
    assert first.error is not None
    assert first.error.reason == "RouterNotReady"
    assert first.router is not None
    assert first.router.url == f"http://{ROUTER}.{local.namespace}.svc:8080"
    uid = local.body()["metadata"]["uid"]
    for kind in KINDS:
        if kind == "Pod":
            continue
        stored = await local.stored(kind)
        assert stored is not None, kind
        (owner,) = stored["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
            "LunoraApp",
            APP,
            uid,
            True,
        )

    local.objects.requests.clear()
    await local.run(stand_in_image)
    assert local.objects.writes() == []


async def test_router_ready_follows_the_deployment_and_says_what_the_kubelet_says(
    local: LocalApp, stand_in_image: str
) -> None:
    missing = stand_in_image.split("@")[0].rsplit(":", 1)[0] + ":no-such-tag"

    async def kubelet_words() -> str | None:
        error = (await local.run(missing)).error
        assert error is not None
        assert error.reason == "RouterNotReady", error
        return error.message if "its Pod: " in error.message else None

    said = await until("the router Pod's pull failure in RouterReady", kubelet_words)
    assert any(reason in said for reason in ("ErrImagePull", "ImagePullBackOff")), said
    assert said.startswith(f"router Deployment {ROUTER}: ")

    # The operator's image changes (an upgrade): the template is patched and rolled out.
    local.objects.requests.clear()
    upgraded = await local.run(stand_in_image)
    assert local.objects.writes() == [("patch", "Deployment")]
    assert upgraded.events == (("Normal", "RouterUpdated", f"updated Deployment {ROUTER}"),)

    async def ready() -> tuple[str, str, str] | None:
        outcome = await local.run(stand_in_image)
        return router_ready(outcome) if outcome.error is None else None

    status, reason, message = await until("RouterReady=True", ready)
    assert (status, reason) == ("True", "Available")
    assert message == f"router {ROUTER} serves at http://{ROUTER}.{local.namespace}.svc:8080"
    deployment = await local.stored("Deployment")
    assert deployment is not None
    (pod,) = [p for p in await local.objects.inner.list(POD, local.namespace, names.router_selector(APP))]
    assert pod["spec"]["containers"][0]["image"] == stand_in_image
    assert pod["spec"]["imagePullSecrets"] == [{"name": PULL_SECRET}]


async def test_the_garbage_collector_removes_the_router_with_its_app(
    local: LocalApp, stand_in_image: str, kubectl: Kubectl
) -> None:
    await local.run(stand_in_image)
    assert all([await local.stored(kind) is not None for kind in KINDS if kind != "Pod"])

    kubectl("delete", "lunoraapp", APP, "-n", local.namespace, "--wait=true")

    async def all_gone() -> bool | None:
        left = [kind for kind in KINDS if kind != "Pod" and await local.stored(kind) is not None]
        return True if not left else None

    await until("the router's objects collected with their app", all_gone)


def instance_pod(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-0123456789abcdef-r1",
            "labels": {names.LABEL_APP: APP, names.LABEL_ROLE: names.ROLE_INSTANCE},
        },
        "spec": {
            "containers": [{"name": "instance", "image": image, "command": ["sleep", "3600"]}],
            "imagePullSecrets": [{"name": PULL_SECRET}],
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
        },
    }


async def test_a_deleted_app_stops_its_router_before_its_instances(
    local: LocalApp, stand_in_image: str, kube: KubeClients
) -> None:
    await until("the router serving", lambda: _served(local, stand_in_image))
    kube.core.create_namespaced_pod(local.namespace, instance_pod(stand_in_image))
    pipeline = local.pipeline(stand_in_image)
    body = local.body()

    with pytest.raises(StepError) as first:
        await pipeline.finalize(body)

    assert first.value.reason == "RouterStopping"
    assert await local.stored("Deployment") is None
    (instance,) = await local.objects.inner.list(POD, local.namespace, names.instance_selector(APP))
    assert not instance["metadata"].get("deletionTimestamp"), "an instance was stopped while its router ran"

    async def finished() -> bool | None:
        try:
            await pipeline.finalize(body)
        except StepError as error:
            if error.reason != "RouterStopping":
                raise
            return None
        return True

    await until("the router Pod gone and the instances stopped", finished)
    left = await local.objects.inner.list(POD, local.namespace, names.instance_selector(APP))
    assert all(p["metadata"].get("deletionTimestamp") for p in left), json.dumps(left)[:2000]


async def _served(local: LocalApp, image: str) -> bool | None:
    return True if (await local.run(image)).error is None else None
