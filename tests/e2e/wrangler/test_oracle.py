"""wrangler as the oracle: the pinned real `wrangler deploy` and the operator deploy the same app
to two FakeCloudflares, and the two Cloudflare states must be equal on a fixed list of fields,
each present on both sides. Every request wrangler sends must pass the fake's checks.

The app: `web` (a registry image written without a host, resolved under the test registry as
wrangler resolves it), `api` (Docker Hub image, custom size, regions and a jurisdiction), `job`
(built from a Dockerfile: by the operator's builder, and by wrangler through docker) and `batch`
(wrangler's hidden `rollout_kind: "none"` in the base config). Then an update: web's image and
rollout steps, api's regions removed and max_instances raised, batch's image (held). wrangler
deploys exactly the config the operator rendered into its ConfigMap, the built container's image
replaced by its Dockerfile.

Adoption: an app a wrangler user deployed from their own config is declared as a LunoraApp and
LunoraContainers with the same names, and the operator takes it over on that same account.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest

from lunora_operator.testing import FakeCloudflare, RegistryConfig
from lunora_operator.testing.environment import TestEnvironment
from lunora_operator.testing.fake_cloudflare import DEFAULT_ACCOUNT_ID
from lunora_operator.wrangler.document import open_document
from tests.support.kube import Kubectl
from tests.support.operator import Resources, container_manifest, operator_process, wait_for
from tests.support.wrangler_oracle import (
    TOKEN,
    Comparison,
    Field,
    Wrangler,
    compare,
    environment_ready,
    fields_of,
    project_files,
    refused_requests,
)

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry]

RUN = uuid.uuid4().hex[:8]
WORKER = "oracle"
APPS = {name: f"{WORKER}-{name}container" for name in ("web", "api", "job", "batch")}
WORKER_SOURCE = """export class WebContainer {}
export class ApiContainer {}
export class JobContainer {}
export class BatchContainer {}
export default { fetch() { return new Response("ok"); } };
"""
# The Worker's own settings, and wrangler's hidden rollout_kind for batch: a person rolls it out.
BASE_CONFIG = """{
  "name": "oracle",
  "main": "index.js",
  "compatibility_date": "2025-09-01",
  "observability": {"logs": {"enabled": true}},
  "containers": [{"class_name": "BatchContainer", "image": "docker.io/library/busybox:1.36", "rollout_kind": "none"}]
}
"""

BARE_BASE = '{\n  "name": "oracle",\n  "main": "index.js",\n  "compatibility_date": "2025-09-01"\n}\n'


def web_image(tag: str) -> str:
    """No registry host: both resolve it under the registry and the account."""
    return f"oracle-{RUN}/web:{tag}"


def container_specs(testenv: TestEnvironment, updated: bool) -> dict[str, dict[str, Any]]:
    web: dict[str, Any] = {"image": {"registry": web_image("1")}, "instanceType": "basic", "maxInstances": 3}
    api: dict[str, Any] = {
        "image": {"registry": "docker.io/library/nginx:1.27"},
        "customInstanceType": {"vcpu": 1, "memoryMib": 3072, "diskMb": 4000},
        "maxInstances": 4,
        "constraints": {"regions": ["WEUR", "EEUR"], "jurisdiction": "eu"},
    }
    batch: dict[str, Any] = {"image": {"registry": "docker.io/library/busybox:1.36"}, "maxInstances": 2}
    if updated:
        web.update(image={"registry": web_image("2")}, rollout={"steps": [50, 100], "gracePeriodSeconds": 30})
        api.update(maxInstances=5)
        del api["constraints"]
        batch.update(image={"registry": "docker.io/library/busybox:1.37"})
    job = {
        "image": {"build": {"context": {"path": "job"}, "buildArgs": {"BASE_IMAGE": testenv.base_image}}},
        "instanceType": "lite",
        "maxInstances": 1,
    }
    specs = {"web": web, "api": api, "job": job, "batch": batch}
    return {name: {"app": "oracle", **spec} for name, spec in specs.items()}


def app_manifest(
    fake: FakeCloudflare, testenv: TestEnvironment, base_config: str, *, bundle: bool = True
) -> str:
    worker = (
        """
  worker:
    configMap: oracle-worker
    mainModule: index.js
    compatibilityDate: "2025-09-01\""""
        if bundle
        else ""
    )
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: cf-token}}
stringData: {{token: {TOKEN}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: oracle-base}}
data:
  wrangler.jsonc: {json.dumps(base_config)}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: oracle-worker}}
data:
  index.js: {json.dumps(WORKER_SOURCE)}
---
apiVersion: lunora.sh/v1alpha1
kind: LunoraApp
metadata: {{name: oracle}}
spec:
  workerName: {WORKER}
  cloudflare:
    accountId: {fake.account_id}
    apiTokenSecretRef: {{name: cf-token, key: token}}
    apiBaseUrl: {fake.base_url}
    registry: {testenv.registry}
  wrangler:
    base: {{name: oracle-base, key: wrangler.jsonc}}{worker}
"""


def containers_manifest(specs: dict[str, dict[str, Any]]) -> str:
    return "\n---\n".join(container_manifest(name, spec) for name, spec in specs.items())


def project(directory: Path, testenv: TestEnvironment) -> None:
    """The repository a wrangler user has: base config, Worker, the job's Dockerfile context."""
    project_files(
        directory,
        {
            "wrangler.jsonc": BASE_CONFIG,
            "index.js": WORKER_SOURCE,
            "job/Dockerfile": 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n',
            "job/index.html": f"<p>oracle {RUN}</p>\n",
        },
    )


def as_wrangler_builds_it(config_text: str) -> str:
    """The operator's rendered config with the built container's pushed image replaced by its
    Dockerfile, so that wrangler builds and pushes it itself."""
    document = open_document(config_text, "jsonc")
    for index, entry in enumerate(document.get(["containers"])):
        if entry["class_name"] == "JobContainer":
            document.set(["containers", index, "image"], "./job/Dockerfile")
            document.set(["containers", index, "image_build_context"], "./job")
    return document.text


@dataclass
class WranglerSide:
    """The wrangler user's project and their account (a FakeCloudflare)."""

    fake: FakeCloudflare
    directory: Path
    wrangler: Wrangler
    outputs: list[str] = field(default_factory=list)

    def deploy(self, config_text: str) -> None:
        """One `wrangler deploy` of `config_text`; every request it sends must pass the fake."""
        (self.directory / "wrangler.jsonc").write_text(config_text)
        since = len(self.fake.requests())
        self.outputs.append(self.wrangler.deploy(self.directory).stdout)
        refused = refused_requests(self.fake, since)
        assert not refused, "the fake refused what wrangler sent:\n" + "\n".join(refused)


@pytest.fixture(scope="module")
def pushed_web_images(testenv: TestEnvironment) -> Iterator[None]:
    """web's images in the test registry, where both resolve `oracle-<run>/web:<tag>`."""
    client = docker.DockerClient(base_url=testenv.docker_host, timeout=120)
    auth = {"username": testenv.registry_user, "password": testenv.registry_password}
    pushed = []
    try:
        for tag in ("1", "2"):
            repository = f"{testenv.registry}/{DEFAULT_ACCOUNT_ID}/oracle-{RUN}/web"
            client.images.get(testenv.base_image).tag(repository, tag)
            for line in client.images.push(repository, tag, auth_config=auth, stream=True, decode=True):
                assert "error" not in line, line
            pushed.append(f"{repository}:{tag}")
        yield
    finally:
        for reference in pushed:
            client.images.remove(reference, noprune=True)
        client.close()


@pytest.fixture
def wrangler_side(
    testenv: TestEnvironment, tmp_path_factory: pytest.TempPathFactory, pushed_web_images: None
) -> Iterator[WranglerSide]:
    """A wrangler user's project (its Worker and the job's Dockerfile context) and account."""
    environment_ready(testenv)
    registry = RegistryConfig(testenv.registry, testenv.registry_user, testenv.registry_password)
    directory = tmp_path_factory.mktemp("wrangler-project")
    project(directory, testenv)
    with FakeCloudflare(registry=registry) as fake:
        yield WranglerSide(fake, directory, Wrangler(testenv, fake, tmp_path_factory.mktemp("wrangler")))
    client = docker.DockerClient(base_url=testenv.docker_host)
    for image in client.images.list(name=APPS["job"]):  # wrangler's local build tags
        for tag in image.tags:
            client.images.remove(tag, noprune=True)
    client.close()


def report(comparison: Comparison, title: str, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\n" + comparison.table(title))
    problems = comparison.problems()
    assert not problems, f"{title}: the operator's Cloudflare state differs from wrangler's:\n" + "\n".join(
        problems
    )


def test_the_operator_leaves_what_wrangler_leaves(
    wrangler_side: WranglerSide,
    resources: Resources,
    testenv: TestEnvironment,
    namespace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry = RegistryConfig(testenv.registry, testenv.registry_user, testenv.registry_password)
    build_root = tmp_path / "build-root"
    project(build_root, testenv)
    with FakeCloudflare(registry=registry) as ours:
        operator = operator_process(
            testenv, namespace, tmp_path / "operator.log", "--build-root", str(build_root), resync=5
        ).start()
        try:
            resources.apply(app_manifest(ours, testenv, BASE_CONFIG))
            resources.apply(containers_manifest(container_specs(testenv, updated=False)))
            for name in APPS:
                resources.wait_condition("lunoracontainer", name, timeout=180)
            resources.wait_condition("lunoraapp", "oracle")
            wrangler_side.deploy(
                as_wrangler_builds_it(resources.config_map("oracle-wrangler")["wrangler.jsonc"])
            )

            created = compare(fields_of(WORKER, APPS.values(), built=[APPS["job"]]), ours, wrangler_side.fake)
            report(created, "first deploy", capsys)

            for name, spec in container_specs(testenv, updated=True).items():
                resources.apply(container_manifest(name, spec))
            wait_for(
                "the update",
                lambda: (
                    (ours.application(APPS["web"]) or {})
                    .get("configuration", {})
                    .get("image", "")
                    .endswith(":2")
                    and (ours.application(APPS["api"]) or {}).get("max_instances") == 5
                ),
            )
            for name in ("web", "api", "job"):
                resources.wait_condition("lunoracontainer", name, timeout=120)
            # batch's image change waits for a person (rollout_kind "none"), as under wrangler.
            resources.wait_condition("lunoracontainer", "batch", "Deployed", status="False", timeout=120)
            resources.wait_condition("lunoraapp", "oracle")
            wrangler_side.deploy(
                as_wrangler_builds_it(resources.config_map("oracle-wrangler")["wrangler.jsonc"])
            )

            # api's change applies in place: wrangler PATCHes and rolls out the same configuration
            # again, the operator only PATCHes (kept on purpose), so only web's rollout is compared.
            updated = compare(
                fields_of(WORKER, APPS.values(), built=[APPS["job"]], rollouts=[APPS["web"]]),
                ours,
                wrangler_side.fake,
            )
            report(updated, "update", capsys)
            held = resources.condition("lunoracontainer", "batch", "Deployed")
            assert held is not None
            assert held["reason"] == "RolloutHeld", held
        finally:
            operator.stop()


def users_config(testenv: TestEnvironment) -> str:
    """A wrangler user's own config, as they deployed it before the operator."""
    classes = ["WebContainer", "ApiContainer", "JobContainer", "BatchContainer"]
    config = {
        "name": WORKER,
        "main": "index.js",
        "compatibility_date": "2025-09-01",
        "observability": {"logs": {"enabled": True}},
        "containers": [
            {
                "class_name": "WebContainer",
                "image": web_image("1"),
                "instance_type": "basic",
                "max_instances": 3,
            },
            {
                "class_name": "ApiContainer",
                "image": "docker.io/library/nginx:1.27",
                "instance_type": {"vcpu": 1, "memory_mib": 3072, "disk_mb": 4000},
                "max_instances": 4,
                "constraints": {"regions": ["WEUR", "EEUR"], "jurisdiction": "eu"},
            },
            {
                "class_name": "JobContainer",
                "image": "./job/Dockerfile",
                "image_build_context": "./job",
                "image_vars": {"BASE_IMAGE": testenv.base_image},
                "instance_type": "lite",
                "max_instances": 1,
            },
            {
                "class_name": "BatchContainer",
                "image": "docker.io/library/busybox:1.36",
                "max_instances": 2,
                "rollout_kind": "none",
            },
        ],
        "durable_objects": {
            "bindings": [
                {"name": f"CONTAINER_{name.removesuffix('Container').upper()}", "class_name": name}
                for name in classes
            ]
        },
        "migrations": [{"tag": "v1", "new_sqlite_classes": classes}],
    }
    return json.dumps(config, indent=2) + "\n"


def adoption_fields() -> list[Field]:
    """What a takeover must leave as wrangler made it: the applications themselves (ids, their
    namespaces and settings; job's image is the operator's own build), the Durable Object
    namespaces and the migration history."""
    fields = [
        Field("worker: migration tag", lambda f: (f.script(WORKER) or {}).get("migration_tag")),
        Field("worker: Durable Object namespaces (class -> id)", lambda f: f.namespaces(WORKER) or None),
    ]
    for name in APPS.values():
        fields.append(
            Field(f"application {name}: id", lambda f, name=name: (f.application(name) or {}).get("id"))
        )
    for compared in fields_of(WORKER, APPS.values(), built=[APPS["job"]]):
        if compared.name.startswith("application") and "configuration.image" not in compared.name:
            fields.append(compared)
    fields += [
        Field(
            f"application {name}: configuration.image",
            lambda f, name=name: ((f.application(name) or {}).get("configuration") or {}).get("image"),
        )
        for name in (APPS["web"], APPS["api"], APPS["batch"])
    ]
    return fields


def test_an_app_wrangler_deployed_is_taken_over_as_it_is(
    wrangler_side: WranglerSide,
    resources: Resources,
    testenv: TestEnvironment,
    namespace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = users_config(testenv)
    wrangler_side.deploy(config)
    fake = wrangler_side.fake
    fields = adoption_fields()
    before = {compared.name: compared.read(fake) for compared in fields}
    fake.clear_requests()

    build_root = tmp_path / "build-root"
    project(build_root, testenv)
    operator = operator_process(
        testenv, namespace, tmp_path / "operator.log", "--build-root", str(build_root), resync=5
    ).start()
    try:
        resources.apply(app_manifest(fake, testenv, config))
        resources.apply(containers_manifest(container_specs(testenv, updated=False)))
        found = {name: resources.wait_condition("lunoracontainer", name, timeout=180) for name in APPS}
        resources.wait_condition("lunoraapp", "oracle")
        rendered = open_document(resources.config_map("oracle-wrangler")["wrangler.jsonc"], "jsonc")
    finally:
        operator.stop()

    # The history the user deployed is the history rendered: no entry added or rewritten.
    assert rendered.get(["migrations"]) == json.loads(config)["migrations"]

    after = {compared.name: compared.read(fake) for compared in fields}
    report(
        Comparison(fields, operator=after, wrangler=before), "adoption (after the operator == before)", capsys
    )
    for name, resource in found.items():
        assert resource["status"]["applicationId"] == before[f"application {APPS[name]}: id"]
    assert [r.body["name"] for r in fake.requests("applications.create")] == []
    uploads = [r for r in fake.requests("workers.scripts.update") if r.status == 200]
    assert [
        u.body["metadata"].get("migrations") for u in uploads if u.body["metadata"].get("migrations")
    ] == []
    changed = {
        r.path.rsplit("/", 2)[-2] if r.path.endswith("rollouts") else r.path.rsplit("/", 1)[-1]
        for r in fake.requests()
        if r.method in ("PATCH", "POST") and "/applications/" in r.path
    }
    assert changed <= {before[f"application {APPS['job']}: id"]}, "only job (built by the operator) changes"


def test_a_class_created_and_deleted_before_any_deploy_leaves_a_config_wrangler_deploys(
    wrangler_side: WranglerSide,
    resources: Resources,
    testenv: TestEnvironment,
    namespace: str,
    tmp_path: Path,
    kubectl: Kubectl,
) -> None:
    """No bundle: the operator renders the config for `wrangler deploy`. A container deleted before
    anyone deployed it leaves no migration behind, so the first deploy succeeds (a history that
    created the class and then deleted it would be refused: the code no longer exports it)."""
    registry = RegistryConfig(testenv.registry, testenv.registry_user, testenv.registry_password)
    specs = {
        name: {
            "app": "oracle",
            "image": {"registry": f"docker.io/library/nginx:1.{minor}"},
            "maxInstances": 1,
        }
        for name, minor in (("web", 27), ("api", 28))
    }
    with FakeCloudflare(registry=registry) as ours:
        operator = operator_process(testenv, namespace, tmp_path / "operator.log", resync=5).start()
        try:
            resources.apply(app_manifest(ours, testenv, BARE_BASE, bundle=False))
            resources.apply(containers_manifest(specs))

            seen: list[object] = []

            def rendered(classes: set[str]) -> str | None:
                data = (resources.get("configmap", "oracle-wrangler") or {}).get("data") or {}
                text = data.get("wrangler.jsonc")
                seen[:] = [text]
                if text is None:
                    return None
                config = open_document(text, "jsonc").get([])
                return text if {c["class_name"] for c in config.get("containers", [])} == classes else None

            def shown(what: str, classes: set[str]) -> str:
                try:
                    return str(wait_for(what, lambda: rendered(classes)))
                except AssertionError as error:
                    raise AssertionError(f"{error}\nthe config: {seen}") from None

            shown("both classes rendered", {"WebContainer", "ApiContainer"})
            kubectl("delete", "lunoracontainer", "api", "-n", namespace, "--wait=false")
            config = shown("api gone from the config", {"WebContainer"})
        finally:
            operator.stop()
            # The finalizer of a container whose Worker was never deployed is another issue's.
            kubectl(
                "patch",
                "lunoracontainer",
                "api",
                "-n",
                namespace,
                "--type=merge",
                "-p",
                '{"metadata":{"finalizers":null}}',
                check=False,
            )

    history = open_document(config, "jsonc").get(["migrations"])
    declared = [name for entry in history for name in entry.get("new_sqlite_classes", [])]
    assert "ApiContainer" not in declared
    assert all("deleted_classes" not in entry for entry in history)
    # The Worker's code exports what the config declares, as the generated classes would.
    (wrangler_side.directory / "index.js").write_text(
        'export class WebContainer {}\nexport default { fetch() { return new Response("ok"); } };\n'
    )
    wrangler_side.deploy(config)  # every request passes the fake, the deploy succeeds
    assert set(wrangler_side.fake.namespaces(WORKER)) == {"WebContainer"}
