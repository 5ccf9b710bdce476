"""In-memory edges for the fast tests of local mode's control loop: `Objects` over dictionaries
(as the API server stores built-in objects: uids, generations that move with the spec, merge
patches, label selectors), the instance Pods the operator watches, scripted image pushes, and a
harness wiring them to the real `Controller` beside a FakeCloudflare that must stay untouched."""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.api.status import EgressStatus
from lunora_operator.cloudflare import CloudflareClients
from lunora_operator.controller import Controller, LocalWiring
from lunora_operator.kube.gateway import KubeRefused
from lunora_operator.kube.objects import ObjectKind
from lunora_operator.local.router_objects import RouterTemplate
from lunora_operator.reconcile.app_run import AppOutcome
from lunora_operator.reconcile.container import ResolvedImage
from lunora_operator.reconcile.errors import StepError
from lunora_operator.reconcile.local_app import LocalSettings
from lunora_operator.reconcile.local_instances import InstancePod
from lunora_operator.testing import FakeCloudflare
from tests.support.clock import ManualClock, SteppedWallClock
from tests.support.cloudflare import FAST_RETRY, TOKEN
from tests.support.reconcile import (
    APP,
    FAST_SETTINGS,
    NAMESPACE,
    Harness,
    MemoryInventory,
    MemoryKube,
    ScriptedImages,
    apply_merge_patch,
)

ROUTER_IMAGE = "registry.example/lunora-operator:1.0"
TEMPLATE = RouterTemplate(ROUTER_IMAGE, ("operator-pull",), (("KUBERNETES_SERVICE_HOST", "10.0.0.1"),))


def matches(labels: Mapping[str, str], selector: str) -> bool:
    """An equality-based label selector (`a=b,c=d`)."""
    wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
    return all(labels.get(key) == value for key, value in wanted.items())


@dataclass
class MemoryObjects:
    """`Objects` over dictionaries. Every request is recorded as (verb, kind, name)."""

    stored: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    refuse: set[tuple[str, str]] = field(default_factory=set)
    """(verb, kind) the API server refuses with 403."""
    _uids: itertools.count[int] = field(default_factory=itertools.count)

    def writes(self) -> list[tuple[str, str, str]]:
        return [r for r in self.requests if r[0] != "get" and r[0] != "list"]

    def put(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """An object as someone else created it."""
        stored = copy.deepcopy(dict(body))
        metadata = stored.setdefault("metadata", {})
        metadata.setdefault("uid", f"uid-{next(self._uids)}")
        metadata.setdefault("generation", 1)
        metadata.setdefault("namespace", NAMESPACE)
        self.stored[(stored["kind"], metadata["namespace"], metadata["name"])] = stored
        return stored

    def get(self, kind: str, name: str, namespace: str = NAMESPACE) -> dict[str, Any] | None:
        return self.stored.get((kind, namespace, name))

    def _check(self, verb: str, kind: ObjectKind, name: str) -> None:
        self.requests.append((verb, kind.kind, name))
        if (verb, kind.kind) in self.refuse:
            raise KubeRefused(f"{verb} {kind.kind} {name} failed: 403 Forbidden")

    async def observe(self, kind: ObjectKind, namespace: str, name: str) -> dict[str, Any] | None:
        self._check("get", kind, name)
        found = self.stored.get((kind.kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def create(self, kind: ObjectKind, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        self._check("create", kind, name)
        assert (kind.kind, namespace, name) not in self.stored, f"{kind.kind} {name} exists: 409"
        return copy.deepcopy(self.put(body))

    async def patch(
        self, kind: ObjectKind, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        self._check("patch", kind, name)
        current = self.stored[(kind.kind, namespace, name)]
        patched = apply_merge_patch(current, patch)
        if patched.get("spec") != current.get("spec"):
            patched["metadata"]["generation"] = current["metadata"]["generation"] + 1
        self.stored[(kind.kind, namespace, name)] = patched
        return copy.deepcopy(patched)

    async def delete(self, kind: ObjectKind, namespace: str, name: str) -> bool:
        self._check("delete", kind, name)
        return self.stored.pop((kind.kind, namespace, name), None) is not None

    async def list(self, kind: ObjectKind, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        self._check("list", kind, label_selector)
        return [
            copy.deepcopy(body)
            for (stored_kind, stored_namespace, _), body in self.stored.items()
            if stored_kind == kind.kind
            and stored_namespace == namespace
            and matches((body.get("metadata") or {}).get("labels") or {}, label_selector)
        ]

    def roll_out(self, name: str, available: int = 1) -> None:
        """The Deployment controller and the kubelet at work: the current template runs on
        `available` ready replicas."""
        deployment = self.stored[("Deployment", NAMESPACE, name)]
        deployment["status"] = {
            "observedGeneration": deployment["metadata"]["generation"],
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": available,
            "readyReplicas": available,
        }


@dataclass
class MemoryPods:
    """The instance Pods the operator's watch holds, by container uid."""

    pods: dict[str, list[InstancePod]] = field(default_factory=dict)

    def of(self, container_uid: str) -> Sequence[InstancePod]:
        return list(self.pods.get(container_uid, []))


@dataclass
class ScriptedEgress:
    """The egress counts routers answer, by (namespace, app, container); a missing key: unknown."""

    answers: dict[tuple[str, str, str], EgressStatus] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    async def summary(self, namespace: str, app: str, container: str) -> EgressStatus | None:
        self.calls.append((namespace, app, container))
        return self.answers.get((namespace, app, container))


@dataclass
class ScriptedLocalImages:
    answers: dict[str, ResolvedImage | StepError] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    async def resolve(
        self, container: LunoraContainer, app: LunoraApp, names: ContainerNames
    ) -> ResolvedImage:
        name = container.metadata.name
        self.calls.append(name)
        answer = self.answers[name]
        if isinstance(answer, StepError):
            raise answer
        return answer


def local_app_body(*, name: str = APP, generation: int = 1, **spec: Any) -> dict[str, Any]:
    full: dict[str, Any] = {"workerName": name, "mode": "local", **spec}
    return {
        "apiVersion": "lunora.sh/v1alpha1",
        "kind": "LunoraApp",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "uid": f"uid-app-{name}",
            "generation": generation,
            "resourceVersion": "1",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": full,
    }


@dataclass
class LocalHarness(Harness):
    objects: MemoryObjects = field(default_factory=MemoryObjects)
    pods: MemoryPods = field(default_factory=MemoryPods)
    local_images: ScriptedLocalImages = field(default_factory=ScriptedLocalImages)
    egress: ScriptedEgress = field(default_factory=ScriptedEgress)

    def watched(self, kind: str, name: str) -> dict[str, Any]:
        """The object as the watch delivers it after the writes so far (into the inventory too)."""
        return self.apply(self.current(kind, name))

    async def app_pass(self, name: str = APP) -> AppOutcome:
        return await self.controller.reconcile_app(self.watched("LunoraApp", name))

    async def container_pass(self, name: str) -> StepError | None:
        return await self.controller.reconcile_container(self.watched("LunoraContainer", name))


@contextlib.asynccontextmanager
async def running_local_harness(settings: LocalSettings | None = None) -> AsyncIterator[LocalHarness]:
    """The Controller with local mode wired (routers from TEMPLATE unless `settings` say
    otherwise), beside a FakeCloudflare whose records local mode must leave empty."""
    fake_clock = ManualClock()
    async with FakeCloudflare(token=TOKEN, clock=fake_clock.monotonic) as fake:
        clients = CloudflareClients(retry=FAST_RETRY)
        kube, inventory = MemoryKube(), MemoryInventory()
        objects, pods, local_images = MemoryObjects(), MemoryPods(), ScriptedLocalImages()
        egress = ScriptedEgress()
        events: list[tuple[str, str, str, str]] = []

        def record_event(body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
            events.append((str(body["metadata"]["name"]), type, reason, message))

        clock, images = SteppedWallClock(), ScriptedImages()
        wiring = LocalWiring(objects, local_images, pods, settings or LocalSettings(router=TEMPLATE), egress)
        controller = Controller(
            kube, clients, images, inventory, FAST_SETTINGS, record_event, clock, local=wiring
        )
        try:
            yield LocalHarness(
                fake, clients, kube, inventory, images, controller, events, clock, fake_clock,
                objects=objects, pods=pods, local_images=local_images, egress=egress,
            )  # fmt: skip
        finally:
            await controller.close()
            await clients.aclose()
