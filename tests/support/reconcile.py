"""In-memory edges for the fast tests of the reconcile layer: a `Kube` over dictionaries, an
`Inventory` of records built from realistic bodies, a scripted `ImageResolver`, and a `Harness`
wiring them to the real `Controller`, the real `CloudflareClients` and a `FakeCloudflare`.

A test module's fixture: `async with running_harness() as harness: yield harness`.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.cloudflare import AccountClient, CloudflareClients
from lunora_operator.controller import Controller, ControllerSettings
from lunora_operator.kube.gateway import ConfigMapData, KubeUnavailable, OwnerReference, ReferenceMissing
from lunora_operator.reconcile.app_pipeline import AppPipeline
from lunora_operator.reconcile.app_run import AppMemory, AppOutcome
from lunora_operator.reconcile.container import (
    ContainerDeps,
    ContainerRun,
    ResolvedImage,
    reconcile_container,
)
from lunora_operator.reconcile.errors import StepError
from lunora_operator.reconcile.records import AppKey, AppRecord, ContainerRecord
from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.fake_cloudflare import RecordedRequest
from tests.support.clock import SteppedWallClock
from tests.support.cloudflare import FAST_RETRY, TOKEN

NAMESPACE = "team-a"
APP = "demo"
WORKER = "demo"
TOKEN_SECRET = "cloudflare-api-token"
BASE_CONFIG_MAP = "demo-wrangler-base"
BUNDLE_CONFIG_MAP = "demo-worker"
OUTPUT_CONFIG_MAP = "demo-wrangler"
BASE_CONFIG = '{\n  // the Worker\'s own settings\n  "name": "demo",\n  "main": "index.js",\n  "compatibility_date": "2025-09-01"\n}\n'
WORKER_CLASSES = ("WebContainer", "ApiContainer", "JobsContainer", "TranscoderContainer")
"""Classes the default Worker bundle exports (FakeCloudflare refuses a migration for a class the
modules do not mention)."""
BUILT_IMAGE = "registry.cloudflare.com/023e105f4ecef8ad9ca31a8372d0c353/demo-jobscontainer:ctx-1"
FAST_SETTINGS = ControllerSettings(resync_interval=600.0, render_quiet=0.005, render_max_delay=0.05)


def holding_base(class_name: str) -> str:
    """A base config whose entry for `class_name` keeps wrangler's hidden `rollout_kind: "none"`:
    configuration changes are not rolled out."""
    return (
        '{\n  "name": "demo",\n  "main": "index.js",\n'
        f'  "containers": [{{"class_name": "{class_name}", "rollout_kind": "none"}}]\n}}\n'
    )


def worker_source(classes: Sequence[str] = WORKER_CLASSES) -> str:
    return "\n".join(f"export class {name} {{}}" for name in classes) + "\nexport default {};\n"


def apply_merge_patch(target: Mapping[str, Any] | None, patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386, as the API server applies a merge patch."""
    result = copy.deepcopy(dict(target or {}))
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = apply_merge_patch(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


# --- bodies ---------------------------------------------------------------------------------------


def app_body(
    cloudflare: Mapping[str, Any],
    *,
    name: str = APP,
    generation: int = 1,
    bundle: bool = True,
    base: bool = True,
    status: Mapping[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A LunoraApp as the API server returns it. `cloudflare` is the `spec.cloudflare` block."""
    full: dict[str, Any] = {"workerName": WORKER, "mode": "cloudflare", "cloudflare": dict(cloudflare)}
    full["wrangler"] = {"format": "jsonc"}
    if base:
        full["wrangler"]["base"] = {"name": BASE_CONFIG_MAP, "key": "wrangler.jsonc"}
    if bundle:
        full["worker"] = {
            "configMap": BUNDLE_CONFIG_MAP,
            "mainModule": "index.js",
            "compatibilityDate": "2025-09-01",
        }
    full.update(spec)
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
        **({"status": dict(status)} if status is not None else {}),
    }


def container_body(
    name: str,
    *,
    app: str = APP,
    generation: int = 1,
    created: str = "2026-01-01T00:00:10Z",
    deleting: bool = False,
    annotations: Mapping[str, str] | None = None,
    status: Mapping[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A LunoraContainer as the API server returns it; a registry image unless `image` is given."""
    spec.setdefault("image", {"registry": f"docker.io/acme/{name}:1.0"})
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "uid": f"uid-lc-{name}",
        "generation": generation,
        "resourceVersion": "1",
        "creationTimestamp": created,
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-02T00:00:00Z"
        metadata["finalizers"] = ["lunora.sh/finalizer"]
    return {
        "apiVersion": "lunora.sh/v1alpha1",
        "kind": "LunoraContainer",
        "metadata": metadata,
        "spec": {"app": app, **spec},
        **({"status": dict(status)} if status is not None else {}),
    }


def secret_ref(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


# --- Kubernetes ------------------------------------------------------------------------------------


@dataclass
class StoredConfigMap:
    data: dict[str, str]
    annotations: dict[str, str]
    owner: OwnerReference | None
    resource_version: str


@dataclass(frozen=True)
class StatusPatch:
    plural: str
    namespace: str
    name: str
    patch: Mapping[str, Any]


@dataclass
class MemoryKube:
    """`Kube` over dictionaries. ConfigMap writes follow the API server's optimistic concurrency
    (create fails when the object exists, replace when the resourceVersion moved on); status
    patches are recorded and applied to the stored objects."""

    secrets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    config_maps: dict[tuple[str, str], StoredConfigMap] = field(default_factory=dict)
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    """(plural, namespace, name) -> body, for `exists` and the statuses written."""
    config_map_writes: list[tuple[str, str]] = field(default_factory=list)
    status_patches: list[StatusPatch] = field(default_factory=list)
    _version: int = 0

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    # what a user (or a test) does

    def put_secret(self, name: str, data: Mapping[str, str], namespace: str = NAMESPACE) -> None:
        self.secrets[(namespace, name)] = dict(data)

    def delete_secret(self, name: str, namespace: str = NAMESPACE) -> None:
        del self.secrets[(namespace, name)]

    def put_config_map(self, name: str, data: Mapping[str, str], namespace: str = NAMESPACE) -> None:
        self.config_maps[(namespace, name)] = StoredConfigMap(dict(data), {}, None, self._next_version())

    def delete_config_map(self, name: str, namespace: str = NAMESPACE) -> None:
        del self.config_maps[(namespace, name)]

    def stored(self, name: str, namespace: str = NAMESPACE) -> StoredConfigMap:
        return self.config_maps[(namespace, name)]

    def status_of(self, plural: str, name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
        return dict(self.objects[(plural, namespace, name)].get("status") or {})

    # the Kube protocol

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        data = self.secrets.get((namespace, name))
        if data is None:
            raise ReferenceMissing("Secret", namespace, name)
        if key not in data:
            raise ReferenceMissing("Secret", namespace, name, key)
        return data[key]

    async def config_map(self, namespace: str, name: str) -> ConfigMapData | None:
        stored = self.config_maps.get((namespace, name))
        if stored is None:
            return None
        return ConfigMapData(
            name=name,
            data=dict(stored.data),
            annotations=dict(stored.annotations),
            resource_version=stored.resource_version,
        )

    async def write_config_map(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: OwnerReference | None,
        resource_version: str | None,
    ) -> None:
        current = self.config_maps.get((namespace, name))
        if resource_version is None and current is not None:
            raise KubeUnavailable(f'writing ConfigMap "{namespace}/{name}" failed: 409 AlreadyExists')
        if resource_version is not None and (current is None or current.resource_version != resource_version):
            raise KubeUnavailable(f'writing ConfigMap "{namespace}/{name}" failed: 409 Conflict')
        self.config_map_writes.append((namespace, name))
        self.config_maps[(namespace, name)] = StoredConfigMap(
            dict(data), dict(annotations), owner, self._next_version()
        )

    async def patch_status(
        self, plural: str, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> str | None:
        self.status_patches.append(StatusPatch(plural, namespace, name, copy.deepcopy(dict(patch))))
        body = self.objects.get((plural, namespace, name))
        if body is None:
            return None
        body["status"] = apply_merge_patch(body.get("status"), patch)
        metadata = body.setdefault("metadata", {})
        metadata["resourceVersion"] = self._next_version()  # opaque to the operator: never parsed
        return str(metadata["resourceVersion"])

    async def exists(self, plural: str, namespace: str, name: str) -> bool:
        return (plural, namespace, name) in self.objects


# --- the inventory -----------------------------------------------------------------------------------


@dataclass
class MemoryInventory:
    """What kopf's indexes would hold."""

    apps: dict[AppKey, AppRecord] = field(default_factory=dict)
    members: dict[AppKey, dict[str, ContainerRecord]] = field(default_factory=dict)

    def put(self, body: Mapping[str, Any]) -> AppRecord | ContainerRecord:
        if body["kind"] == "LunoraApp":
            app = AppRecord.from_body(body)
            self.apps[app.key] = app
            return app
        container = ContainerRecord.from_body(body)
        for records in self.members.values():
            records.pop(container.name, None)
        self.members.setdefault(container.app_key, {})[container.name] = container
        return container

    def drop(self, kind: str, name: str, namespace: str = NAMESPACE) -> None:
        if kind == "LunoraApp":
            self.apps.pop((namespace, name), None)
            return
        for records in self.members.values():
            records.pop(name, None)

    def app(self, key: AppKey) -> AppRecord | None:
        return self.apps.get(key)

    def containers(self, key: AppKey) -> Sequence[ContainerRecord]:
        return list(self.members.get(key, {}).values())


# --- images -------------------------------------------------------------------------------------------


@dataclass
class ScriptedImages:
    """An `ImageResolver` answering from a table: container name -> image or the StepError to raise."""

    answers: dict[str, ResolvedImage | StepError] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    async def resolve(
        self, container: LunoraContainer, app: LunoraApp, names: ContainerNames, account: AccountClient
    ) -> ResolvedImage:
        name = container.metadata.name
        self.calls.append(name)
        answer = self.answers.get(name)
        if answer is None:
            raise AssertionError(f"no scripted image for {name}")
        if isinstance(answer, StepError):
            raise answer
        return answer


# --- everything together --------------------------------------------------------------------------------


@dataclass
class Harness:
    fake: FakeCloudflare
    clients: CloudflareClients
    kube: MemoryKube
    inventory: MemoryInventory
    images: ScriptedImages
    controller: Controller
    events: list[tuple[str, str, str, str]]
    clock: SteppedWallClock

    @property
    def cloudflare_block(self) -> dict[str, Any]:
        return {
            "accountId": self.fake.account_id,
            "apiTokenSecretRef": {"name": TOKEN_SECRET, "key": "token"},
            "apiBaseUrl": self.fake.base_url,
        }

    @property
    def key(self) -> AppKey:
        return (NAMESPACE, APP)

    @property
    def pipeline(self) -> AppPipeline:
        return AppPipeline(self.kube, self.clients, self.inventory)

    @property
    def memory(self) -> AppMemory:
        """What the controller remembers of the app between its runs."""
        return self.controller.renders.coordinator(self.key).memory

    @property
    def deps(self) -> ContainerDeps:
        return self.controller.containers.deps

    async def steps(self, body: Mapping[str, Any], deps: ContainerDeps | None = None) -> ContainerRun:
        """The container's steps alone (nothing written to its status)."""
        return await reconcile_container(ContainerRecord.from_body(body), deps or self.deps)

    async def ready_container(self, name: str = "web", **spec: Any) -> dict[str, Any]:
        """The app and the container applied and reconciled to Ready; the container as stored."""
        self.apply(self.app())
        body = self.apply(container_body(name, **spec))
        error = await self.controller.reconcile_container(body)
        assert error is None, error
        return self.current("LunoraContainer", name)

    def app(self, **options: Any) -> dict[str, Any]:
        return app_body(self.cloudflare_block, **options)

    def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Stores the object as the API server and kopf's index would; returns the stored body.
        As with the API server, a body without status keeps the status already stored (status is
        a subresource: writing the object does not touch it)."""
        plural = "lunoraapps" if body["kind"] == "LunoraApp" else "lunoracontainers"
        metadata = body["metadata"]
        stored = copy.deepcopy(dict(body))
        existing = self.kube.objects.get((plural, metadata["namespace"], metadata["name"]))
        if "status" not in stored and existing is not None and "status" in existing:
            stored["status"] = copy.deepcopy(existing["status"])
        self.kube.objects[(plural, metadata["namespace"], metadata["name"])] = stored
        self.inventory.put(stored)
        return stored

    def remove(self, kind: str, name: str, *, from_kubernetes: bool = True) -> None:
        """The object leaves the index (and, unless told otherwise, the API server)."""
        plural = "lunoraapps" if kind == "LunoraApp" else "lunoracontainers"
        self.inventory.drop(kind, name)
        if from_kubernetes:
            self.kube.objects.pop((plural, NAMESPACE, name), None)

    def current(self, kind: str, name: str) -> dict[str, Any]:
        """The object as the API server holds it now (statuses written included)."""
        plural = "lunoraapps" if kind == "LunoraApp" else "lunoracontainers"
        return copy.deepcopy(self.kube.objects[(plural, NAMESPACE, name)])

    async def run_app(self, memory: AppMemory, observe: bool = False) -> AppOutcome:
        return await self.pipeline.run(self.key, memory, observe)

    def mutations(self) -> list[RecordedRequest]:
        return [r for r in self.fake.requests() if r.method != "GET"]

    def uploads(self) -> list[dict[str, Any]]:
        """The metadata part of each Worker upload the fake accepted."""
        return [
            r.body["metadata"]
            for r in self.fake.requests("workers.scripts.update")
            if r.status == 200 and isinstance(r.body, dict)
        ]

    def output(self) -> StoredConfigMap:
        return self.kube.stored(OUTPUT_CONFIG_MAP)

    def output_config(self) -> dict[str, Any]:
        from lunora_operator.wrangler.document import open_document

        return dict(open_document(self.output().data["wrangler.jsonc"], "jsonc").get([]))

    def output_state(self) -> dict[str, Any]:
        return dict(json.loads(self.output().data["lunora-render.json"]))


def standard_inputs(kube: MemoryKube) -> None:
    """The token Secret, the base config and the Worker bundle a typical app has."""
    kube.put_secret(TOKEN_SECRET, {"token": TOKEN})
    kube.put_config_map(BASE_CONFIG_MAP, {"wrangler.jsonc": BASE_CONFIG})
    kube.put_config_map(BUNDLE_CONFIG_MAP, {"index.js": worker_source()})


@contextlib.asynccontextmanager
async def running_harness() -> AsyncIterator[Harness]:
    async with FakeCloudflare(token=TOKEN) as fake:
        clients = CloudflareClients(retry=FAST_RETRY)
        kube = MemoryKube()
        standard_inputs(kube)
        inventory = MemoryInventory()
        images = ScriptedImages()
        events: list[tuple[str, str, str, str]] = []

        def record_event(body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
            events.append((str(body["metadata"]["name"]), type, reason, message))

        clock = SteppedWallClock()
        controller = Controller(
            kube, clients, images, inventory, FAST_SETTINGS, events=record_event, clock=clock
        )
        try:
            yield Harness(fake, clients, kube, inventory, images, controller, events, clock)
        finally:
            await controller.close()
            await clients.aclose()
