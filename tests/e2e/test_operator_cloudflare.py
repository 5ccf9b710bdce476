"""The operator end to end, cloudflare mode: the real API server, Docker engine and registry, the
real wrangler, and FakeCloudflare standing in for Cloudflare."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.environment import TestEnvironment
from tests.support.node import NodeTools
from tests.support.operator import OperatorProcess, Resources, example_manifests, wait_for

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry]

EXAMPLE_TOKEN = "local-fake-cloudflare-token"


def apply_examples(resources: Resources, fake: FakeCloudflare, testenv: TestEnvironment) -> None:
    resources.apply(example_manifests(fake.base_url, testenv.registry, testenv.base_image, fake.account_id))


def result_config_json(text: str) -> str:
    from lunora_operator.wrangler.document import open_document

    return json.dumps(open_document(text, "jsonc").get([]))


def mutating_requests(fake: FakeCloudflare) -> list[Any]:
    return [r for r in fake.requests() if r.method != "GET"]


def image_events(since: float, until: float, testenv: TestEnvironment) -> list[str]:
    client = docker.DockerClient(base_url=testenv.docker_host)
    try:
        events = client.events(since=int(since), until=int(until) + 1, filters={"type": "image"}, decode=True)
        return [f"{e.get('Action')} {e.get('id')}" for e in events]
    finally:
        client.close()


@pytest.fixture
def examples_ready(
    resources: Resources, fake_cloudflare: FakeCloudflare, testenv: TestEnvironment, operator: OperatorProcess
) -> Resources:
    apply_examples(resources, fake_cloudflare, testenv)
    for kind, name in (("lunoracontainer", "web"), ("lunoracontainer", "transcoder"), ("lunoraapp", "demo")):
        resources.wait_condition(kind, name, timeout=120)
    return resources


def test_examples_reach_ready_with_exactly_the_cloudflare_state_expected(
    examples_ready: Resources, fake_cloudflare: FakeCloudflare, testenv: TestEnvironment, tmp_path: Path
) -> None:
    resources, fake = examples_ready, fake_cloudflare
    web = resources.get("lunoracontainer", "web")
    transcoder = resources.get("lunoracontainer", "transcoder")
    assert web is not None
    assert transcoder is not None

    applications = {a["name"]: a for a in fake.applications()}
    assert sorted(applications) == ["demo-transcodercontainer", "demo-webcontainer"]
    assert applications["demo-webcontainer"]["configuration"]["image"] == "docker.io/acme/web:1.0"
    pushed = transcoder["status"]["image"]
    assert pushed["ref"].startswith(f"{testenv.registry}/{fake.account_id}/demo-transcodercontainer:ctx-")
    assert applications["demo-transcodercontainer"]["configuration"]["image"] == pushed["ref"]
    assert web["status"]["applicationId"] == applications["demo-webcontainer"]["id"]

    app = resources.get("lunoraapp", "demo")
    assert app is not None
    assert app["status"]["containerCount"] == 2
    script = fake.script("demo")
    assert script is not None
    assert script["migration_tag"] == app["status"]["migrationTag"]
    namespaces = fake.namespaces("demo")
    assert set(namespaces) == {"WebContainer", "TranscoderContainer"}
    for container in (web, transcoder):
        application = applications[container["status"]["applicationName"]]
        assert application["durable_objects"]["namespace_id"] == namespaces[container["status"]["className"]]
    assert fake.secret_names("demo") == {"TRANSCODER_API_KEY"}
    assert fake.secret_value("demo", "TRANSCODER_API_KEY") == "example-transcoder-key"

    # The pushed image is in the registry under its digest tag.
    client = docker.DockerClient(base_url=testenv.docker_host)
    try:
        data = client.images.get_registry_data(
            pushed["ref"],
            auth_config={"username": testenv.registry_user, "password": testenv.registry_password},
        )
        assert data.id == pushed["digest"]
    finally:
        client.close()

    # The rendered config in the output ConfigMap is one wrangler accepts.
    output = resources.config_map("demo-wrangler")
    config = output["wrangler.jsonc"]
    assert "TranscoderContainer" in config
    assert "new_sqlite_classes" in config
    assert "containers.ts" in output
    assert "lunora-render.json" in output
    tools = NodeTools(root=testenv.node_tools, state=tmp_path / "wrangler")
    (tmp_path / "wrangler").mkdir()
    (tmp_path / "wrangler.jsonc").write_text(config)
    (tmp_path / "index.js").write_text(resources.config_map("demo-worker")["index.js"])
    tools.link_node_modules(tmp_path)
    result = tools.wrangler_dry_run(tmp_path / "wrangler.jsonc")
    assert result.returncode == 0, result.stdout + result.stderr
    # Each class declared once, in the history Cloudflare applied.
    migrations = json.loads(result_config_json(config))["migrations"]
    declared = [name for m in migrations for name in m.get("new_sqlite_classes", [])]
    assert sorted(declared) == ["TranscoderContainer", "WebContainer"]
    assert migrations[-1]["tag"] == script["migration_tag"]


def test_an_unchanged_resync_writes_nothing_anywhere(
    examples_ready: Resources,
    fake_cloudflare: FakeCloudflare,
    testenv: TestEnvironment,
    kubectl: Any,
    namespace: str,
) -> None:
    def versions() -> dict[str, str]:
        listed = kubectl(
            "get", "lunoracontainers,lunoraapps,configmaps,events", "-n", namespace, "-o", "json"
        )
        return {
            f"{i['kind']}/{i['metadata']['name']}": i["metadata"]["resourceVersion"]
            for i in json.loads(listed.stdout)["items"]
        }

    time.sleep(6)  # let the first resync after Ready pass
    before = versions()
    fake_cloudflare.clear_requests()
    started = time.time()
    time.sleep(12)  # at least two resyncs (every 5 s)
    assert mutating_requests(fake_cloudflare) == []
    assert fake_cloudflare.requests(), "the resync should have looked at Cloudflare"
    assert versions() == before
    assert [
        e for e in image_events(started, time.time(), testenv) if e.split()[0] in ("push", "tag", "build")
    ] == []


def test_edits_cause_exactly_one_patch_or_rollout(
    examples_ready: Resources, fake_cloudflare: FakeCloudflare
) -> None:
    resources, fake = examples_ready, fake_cloudflare
    web_id = fake.application("demo-webcontainer")["id"]  # type: ignore[index]

    def edit(spec: dict[str, Any], what: str, done: Any) -> list[str]:
        """Edits web's spec, waits until Cloudflare shows it, returns the writes it cost there."""
        fake.clear_requests()
        resources.patch("lunoracontainer", "web", {"spec": spec})
        resources.wait_condition("lunoracontainer", "web")
        wait_for(what, done)
        return [r.operation for r in mutating_requests(fake)]

    def max_instances() -> Any:
        return fake.application("demo-webcontainer")["max_instances"]  # type: ignore[index]

    assert edit({"maxInstances": 7}, "max_instances 7", lambda: max_instances() == 7) == ["applications.edit"]
    image = {"image": {"registry": "docker.io/acme/web:2.0"}}
    assert edit(image, "the new image", lambda: len(fake.rollouts(web_id)) == 1) == [
        "applications.rollouts.create"
    ]
    size = {"instanceType": "standard-1"}
    assert edit(size, "a second rollout", lambda: len(fake.rollouts(web_id)) == 2) == [
        "applications.rollouts.create"
    ]


def test_ready_waits_for_the_rollout_and_a_reverted_one_stalls(
    examples_ready: Resources, fake_cloudflare: FakeCloudflare
) -> None:
    resources, fake = examples_ready, fake_cloudflare
    web_id = fake.application("demo-webcontainer")["id"]  # type: ignore[index]
    fake.hold_rollouts()

    def new_image(tag: str) -> None:
        resources.patch(
            "lunoracontainer", "web", {"spec": {"image": {"registry": f"docker.io/acme/web:{tag}"}}}
        )

    new_image("3.0")
    rolling = resources.wait_condition("lunoracontainer", "web", "Deployed", status="False")
    deployed = resources.condition("lunoracontainer", "web", "Deployed")
    assert deployed is not None
    assert deployed["reason"] == "RollingOut"
    assert resources.condition("lunoracontainer", "web", "Ready")["status"] == "False"  # type: ignore[index]
    assert resources.condition("lunoracontainer", "web", "Reconciling")["status"] == "True"  # type: ignore[index]
    assert rolling["status"]["observedGeneration"] == rolling["metadata"]["generation"]

    fake.finish_rollout(web_id)
    resources.wait_condition("lunoracontainer", "web", timeout=60)
    assert resources.condition("lunoracontainer", "web", "Deployed")["reason"] == "Deployed"  # type: ignore[index]

    new_image("4.0")
    resources.wait_condition("lunoracontainer", "web", "Deployed", status="False")
    fake.finish_rollout(web_id, "reverted")
    resources.wait_condition("lunoracontainer", "web", "Stalled", timeout=60)
    assert resources.condition("lunoracontainer", "web", "Deployed")["reason"] == "RolloutReverted"  # type: ignore[index]
    rollouts = len(fake.rollouts(web_id))
    resources.kubectl(
        "annotate",
        "lunoracontainer",
        "web",
        "-n",
        resources.namespace,
        "--overwrite",
        "reconcile.lunora.sh/requestedAt=after-the-revert",
    )
    wait_for(
        "the requested reconcile",
        lambda: (
            (resources.get("lunoracontainer", "web") or {}).get("status", {}).get("lastHandledReconcileAt")
            == "after-the-revert"
        ),
    )
    assert len(fake.rollouts(web_id)) == rollouts
    assert fake.application("demo-webcontainer")["configuration"]["image"] == "docker.io/acme/web:3.0"  # type: ignore[index]
