"""The operator end to end through a resource's life: missing references, refused credentials,
suspend, reconcile requests, deletion policies, restarts and lost state."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.environment import TestEnvironment
from lunora_operator.wrangler.document import open_document
from tests.support.kube import KubeClients, Kubectl, namespace_phase
from tests.support.operator import (
    OperatorProcess,
    Resources,
    container_manifest,
    demo_app_manifest,
    operator_process,
    wait_for,
)

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry]


def web_like(name: str, **spec: Any) -> str:
    """A registry-image container of `demo`, as `web` is."""
    body = {"app": "demo", "image": {"registry": f"docker.io/acme/{name}:1.0"}, "maxInstances": 2, **spec}
    return container_manifest(name, body)


TOKEN_SECRET = """
apiVersion: v1
kind: Secret
metadata: {name: cf-token}
stringData: {token: a-token}
"""


@pytest.fixture
def web_ready(resources: Resources, fake_cloudflare: FakeCloudflare, operator: OperatorProcess) -> Resources:
    resources.apply(TOKEN_SECRET)
    resources.apply(demo_app_manifest(fake_cloudflare))
    resources.apply(web_like("web"))
    resources.wait_condition("lunoracontainer", "web")
    return resources


def test_a_missing_token_secret_is_named_and_the_app_recovers_when_it_appears(
    resources: Resources, fake_cloudflare: FakeCloudflare, operator: OperatorProcess
) -> None:
    resources.apply(demo_app_manifest(fake_cloudflare))
    resources.apply(web_like("web"))
    ready = resources.wait_condition("lunoraapp", "demo", status="False")
    condition = next(c for c in ready["status"]["conditions"] if c["type"] == "Ready")
    assert condition["reason"] == "SecretNotFound"
    assert 'Secret "' in condition["message"]
    assert "cf-token" in condition["message"]
    assert next(c for c in ready["status"]["conditions"] if c["type"] == "Reconciling")["status"] == "True"

    resources.apply(TOKEN_SECRET)
    resources.wait_condition("lunoraapp", "demo", timeout=60)
    resources.wait_condition("lunoracontainer", "web", timeout=60)


def test_a_missing_container_secret_is_named_and_recovers(
    resources: Resources, fake_cloudflare: FakeCloudflare, operator: OperatorProcess
) -> None:
    resources.apply(TOKEN_SECRET)
    resources.apply(demo_app_manifest(fake_cloudflare))
    secrets = [{"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "web-keys", "key": "api"}}}]
    resources.apply(web_like("web", secrets=secrets))
    waiting = resources.wait_condition("lunoracontainer", "web", status="False")
    ready = next(c for c in waiting["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "SecretNotFound"
    assert "secrets[0] (API_KEY)" in ready["message"]
    assert "web-keys" in ready["message"]

    resources.apply(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: web-keys}\nstringData: {api: s3cr3t-v4lue}\n"
    )
    resources.wait_condition("lunoracontainer", "web", timeout=60)
    wait_for("the Worker secret", lambda: fake_cloudflare.secret_names("demo") == {"API_KEY"})
    assert fake_cloudflare.secret_value("demo", "API_KEY") == "s3cr3t-v4lue"


def test_a_refused_token_stalls_the_app(
    testenv: TestEnvironment, resources: Resources, namespace: str, tmp_path: Path, installed_crds: None
) -> None:
    with FakeCloudflare(token="the-only-token") as fake:
        process = operator_process(testenv, namespace, tmp_path / "operator.log", resync=5).start()
        try:
            resources.apply(TOKEN_SECRET)
            resources.apply(demo_app_manifest(fake))
            stalled = resources.wait_condition("lunoraapp", "demo", "Stalled", "True")
            condition = next(c for c in stalled["status"]["conditions"] if c["type"] == "Stalled")
            assert condition["reason"] == "AuthFailed"
            assert "a-token" not in json.dumps(stalled)
            assert "a-token" not in process.logs()
        finally:
            process.stop()


def test_kubectl_wait_for_ready(web_ready: Resources, kubectl: Kubectl, namespace: str) -> None:
    result = kubectl("wait", "--for=condition=Ready", "lc/web", "lapp/demo", "-n", namespace, "--timeout=30s")
    assert "condition met" in result.stdout


def test_suspend_writes_nothing_and_resume_catches_up(
    web_ready: Resources, fake_cloudflare: FakeCloudflare
) -> None:
    resources, fake = web_ready, fake_cloudflare
    resources.patch("lunoracontainer", "web", {"spec": {"suspend": True}})
    time.sleep(2)  # the suspend is seen before the next change
    before = resources.get("lunoracontainer", "web")
    fake.clear_requests()
    resources.patch("lunoracontainer", "web", {"spec": {"maxInstances": 9}})
    time.sleep(8)
    assert [r for r in fake.requests() if r.method != "GET"] == []
    assert fake.application("demo-webcontainer")["max_instances"] == 2  # type: ignore[index]
    after = resources.get("lunoracontainer", "web")
    assert after is not None
    assert before is not None
    assert after["status"] == before["status"]

    resources.patch("lunoracontainer", "web", {"spec": {"suspend": False}})
    resources.wait_condition("lunoracontainer", "web")
    wait_for("max_instances 9", lambda: fake.application("demo-webcontainer")["max_instances"] == 9)  # type: ignore[index]


def test_a_reconcile_request_is_handled_at_once_and_echoed(web_ready: Resources) -> None:
    resources = web_ready
    resources.kubectl(
        "annotate",
        "lc/web",
        "-n",
        resources.namespace,
        "--overwrite",
        "reconcile.lunora.sh/requestedAt=2026-11-27T10:00:00Z",
    )
    wait_for(
        "lastHandledReconcileAt",
        lambda: (
            (resources.get("lunoracontainer", "web") or {}).get("status", {}).get("lastHandledReconcileAt")
            == "2026-11-27T10:00:00Z"
        ),
        timeout=10,
    )


def test_delete_policy_delete_removes_the_application_and_records_deleted_classes(
    web_ready: Resources, fake_cloudflare: FakeCloudflare
) -> None:
    resources, fake = web_ready, fake_cloudflare
    resources.apply(web_like("job"))
    resources.wait_condition("lunoracontainer", "job")
    assert fake.application("demo-jobcontainer") is not None

    resources.kubectl("delete", "lc/job", "-n", resources.namespace, "--timeout=60s")
    assert fake.application("demo-jobcontainer") is None
    wait_for("JobContainer gone from the Worker", lambda: "JobContainer" not in fake.namespaces("demo"))
    config = resources.config_map("demo-wrangler")["wrangler.jsonc"]
    migrations = json.loads(json.dumps(open_document(config, "jsonc").get(["migrations"])))
    assert migrations[-1]["deleted_classes"] == ["JobContainer"]
    assert "CONTAINER_JOB" not in config
    assert fake.application("demo-webcontainer") is not None


def test_delete_policy_orphan_leaves_cloudflare_alone(
    web_ready: Resources, fake_cloudflare: FakeCloudflare
) -> None:
    resources, fake = web_ready, fake_cloudflare
    resources.apply(web_like("job", deletionPolicy="Orphan"))
    resources.wait_condition("lunoracontainer", "job")
    job = fake.application("demo-jobcontainer")
    assert job is not None
    fake.clear_requests()

    resources.kubectl("delete", "lc/job", "-n", resources.namespace, "--timeout=60s")
    wait_for(
        "the render record to list JobContainer as orphaned",
        lambda: (
            "JobContainer"
            in json.dumps(json.loads(resources.config_map("demo-wrangler")["lunora-render.json"])["orphaned"])
        ),
    )
    assert fake.application("demo-jobcontainer") == job
    assert "JobContainer" in fake.namespaces("demo")
    assert [r.operation for r in fake.requests() if r.method != "GET"] in ([], ["workers.scripts.update"])


def test_history_survives_a_restart_a_lost_status_and_a_deleted_config_map(
    web_ready: Resources, fake_cloudflare: FakeCloudflare, operator: OperatorProcess
) -> None:
    resources, fake = web_ready, fake_cloudflare
    resources.apply(web_like("job"))
    resources.wait_condition("lunoracontainer", "job")
    tag = fake.script("demo")["migration_tag"]  # type: ignore[index]

    operator.kill()
    resources.kubectl("delete", "configmap", "demo-wrangler", "-n", resources.namespace)
    for kind, name in (("lunoracontainer", "web"), ("lunoracontainer", "job"), ("lunoraapp", "demo")):
        resources.kubectl(
            "patch",
            kind,
            name,
            "-n",
            resources.namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status": null}',
        )
    resources.apply(web_like("api"))
    operator.start()

    resources.wait_condition("lunoracontainer", "api", timeout=120)
    resources.wait_condition("lunoracontainer", "job")
    resources.wait_condition("lunoracontainer", "web")
    config = resources.config_map("demo-wrangler")["wrangler.jsonc"]
    assert f'"tag": "{tag}"' in config
    script = fake.script("demo")
    assert script is not None
    assert script["migration_tag"] != tag
    assert set(fake.namespaces("demo")) == {"WebContainer", "JobContainer", "ApiContainer"}
    assert sorted(a["name"] for a in fake.applications()) == [
        "demo-apicontainer",
        "demo-jobcontainer",
        "demo-webcontainer",
    ]


def test_without_a_worker_bundle_the_operator_waits_for_wrangler_deploy(
    resources: Resources, fake_cloudflare: FakeCloudflare, operator: OperatorProcess
) -> None:
    resources.apply(TOKEN_SECRET)
    resources.apply(demo_app_manifest(fake_cloudflare, bundle=False))
    resources.apply(web_like("web"))
    waiting = resources.wait_condition("lunoracontainer", "web", "Ready", "False")
    ready = next(c for c in waiting["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "WaitingForWranglerDeploy"
    assert "demo-wrangler" in ready["message"]
    assert fake_cloudflare.applications() == []

    fake_cloudflare.deploy_worker("demo", ["WebContainer"])
    resources.wait_condition("lunoracontainer", "web", timeout=90)
    assert fake_cloudflare.application("demo-webcontainer") is not None


def rendered_config(resources: Resources) -> str:
    """The rendered wrangler config ("" until the first render)."""
    found = resources.get("configmap", "demo-wrangler")
    return str(((found or {}).get("data") or {}).get("wrangler.jsonc", ""))


def test_without_a_bundle_a_container_of_a_worker_never_deployed_is_deleted_on_the_first_call(
    resources: Resources, fake_cloudflare: FakeCloudflare, operator: OperatorProcess
) -> None:
    """Nothing of the container is on Cloudflare (no application, no Worker), so its finalizer
    does not wait for a `wrangler deploy`, and the config keeps no migration of its class."""
    resources.apply(TOKEN_SECRET)
    resources.apply(demo_app_manifest(fake_cloudflare, bundle=False))
    resources.apply(web_like("web"))
    resources.apply(web_like("job"))
    wait_for(
        "both classes in the config",
        lambda: "JobContainer" in rendered_config(resources) and "WebContainer" in rendered_config(resources),
    )

    resources.kubectl("delete", "lc/job", "-n", resources.namespace, "--timeout=60s")

    log = operator.logs()
    assert log.count("Handler 'delete-application' succeeded") == 1, log[-3000:]
    assert "Handler 'delete-application' failed" not in log
    config = rendered_config(resources)
    assert "JobContainer" not in config
    assert "WebContainer" in config
    assert fake_cloudflare.script("demo") is None
    assert fake_cloudflare.applications() == []


def test_a_namespace_holding_an_app_without_a_bundle_and_its_containers_deletes_completely(
    resources: Resources, fake_cloudflare: FakeCloudflare, operator: OperatorProcess, kube: KubeClients
) -> None:
    resources.apply(TOKEN_SECRET)
    resources.apply(demo_app_manifest(fake_cloudflare, bundle=False))
    resources.apply(web_like("web"))
    resources.apply(web_like("job", deletionPolicy="Orphan"))
    wait_for(
        "both classes in the config",
        lambda: "JobContainer" in rendered_config(resources) and "WebContainer" in rendered_config(resources),
    )

    resources.kubectl("delete", "namespace", resources.namespace, "--timeout=90s")

    assert namespace_phase(kube, resources.namespace) is None
    operator.assert_alive()
