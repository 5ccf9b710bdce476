"""An app's shared run (resolve account → read inputs → render into the output ConfigMap → Worker
upload with migrations and secrets → Durable Object namespaces), driven directly over in-memory
Kubernetes and a FakeCloudflare."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lunora_operator.cloudflare import AccountClient, WorkerUpload
from lunora_operator.kube.gateway import OwnerReference
from lunora_operator.reconcile.app_run import AppMemory, AppOutcome
from lunora_operator.reconcile.conditions import CONFIG_RENDERED, DURABLE_OBJECT_READY, WORKER_DEPLOYED
from lunora_operator.reconcile.errors import Stalled, Waiting
from lunora_operator.testing import Fault
from tests.support.cloudflare import TOKEN
from tests.support.reconcile import (
    BASE_CONFIG_MAP,
    BUILT_IMAGE,
    OUTPUT_CONFIG_MAP,
    Harness,
    container_body,
    secret_ref,
)


def condition(outcome: AppOutcome, condition_type: str) -> tuple[str, str] | None:
    found = outcome.draft.conditions.get(condition_type)
    return (found.status, found.reason) if found is not None else None


def binding(name: str, class_name: str) -> dict[str, str]:
    return {"type": "durable_object_namespace", "name": name, "class_name": class_name}


def owned(harness: Harness) -> list[str]:
    return sorted(c["resource"] for c in harness.output_state()["containers"])


def by_class(config: dict[str, Any]) -> dict[str, Any]:
    """The `containers[]` entries and bindings by class (their order is the planner's business)."""
    bindings = config.get("durable_objects", {}).get("bindings", [])
    return {
        "containers": {c["class_name"]: c for c in config.get("containers", [])},
        "bindings": {b["class_name"]: b for b in bindings},
    }


def migrations(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(config.get("migrations") or [])


async def test_the_first_run_publishes_the_output_and_an_identical_run_writes_nothing(
    harness: Harness,
) -> None:
    harness.apply(harness.app())
    harness.apply(container_body("web"))
    memory = AppMemory()

    first = await harness.run_app(memory)

    assert first.error is None, first.error
    output = harness.output()
    assert set(output.data) == {"wrangler.jsonc", "containers.ts", "lunora-render.json"}
    assert output.owner == OwnerReference("lunora.sh/v1alpha1", "LunoraApp", "demo", "uid-app-demo")
    assert "export class WebContainer" in output.data["containers.ts"]
    assert "// the Worker's own settings" in output.data["wrangler.jsonc"]
    assert owned(harness) == ["web"]
    assert output.annotations["lunora.sh/config-hash"] == first.config_hash
    assert condition(first, CONFIG_RENDERED) == ("True", "Rendered")
    assert harness.kube.config_map_writes == [("team-a", OUTPUT_CONFIG_MAP)]
    assert [r.operation for r in harness.mutations()] == ["workers.scripts.update"]

    mutations = harness.mutations()
    version = output.resource_version
    again = await harness.run_app(memory)
    resync = await harness.run_app(memory, observe=True)

    assert again.error is None
    assert resync.error is None
    assert again.config_hash == resync.config_hash == first.config_hash
    assert harness.kube.config_map_writes == [("team-a", OUTPUT_CONFIG_MAP)]
    assert harness.output().resource_version == version
    assert harness.mutations() == mutations


async def test_the_upload_carries_bindings_classes_and_the_migrations_after_cloudflares_tag(
    harness: Harness,
) -> None:
    memory = await _render_one(harness)

    harness.apply(container_body("api", created="2026-01-01T00:00:20Z"))
    second = await harness.run_app(memory)

    assert second.error is None, second.error
    first_upload, second_upload = harness.uploads()
    assert first_upload["bindings"] == [binding("CONTAINER_WEB", "WebContainer")]
    assert first_upload["containers"] == [{"class_name": "WebContainer"}]
    assert first_upload["migrations"] == {
        "new_tag": "v1",
        "steps": [{"new_sqlite_classes": ["WebContainer"]}],
    }
    assert sorted(second_upload["bindings"], key=lambda b: b["name"]) == [
        binding("CONTAINER_API", "ApiContainer"),
        binding("CONTAINER_WEB", "WebContainer"),
    ]
    assert sorted(c["class_name"] for c in second_upload["containers"]) == ["ApiContainer", "WebContainer"]
    assert second_upload["migrations"] == {
        "old_tag": "v1",
        "new_tag": "v2",
        "steps": [{"new_sqlite_classes": ["ApiContainer"]}],
    }
    script = harness.fake.script("demo")
    assert script is not None
    assert script["migration_tag"] == "v2"
    namespaces = harness.fake.namespaces("demo")
    assert dict(second.namespace_ids) == namespaces
    assert set(namespaces) == {"WebContainer", "ApiContainer"}
    assert condition(second, WORKER_DEPLOYED) == ("True", "Uploaded")
    assert condition(second, DURABLE_OBJECT_READY) == ("True", "NamespacesFound")


SECRET_VALUE = "tr4nsc0der-s3cret-value"


def _with_secret(name: str = "web", **spec: Any) -> dict[str, Any]:
    return container_body(
        name,
        secrets=[{"name": "TRANSCODER_API_KEY", "valueFrom": secret_ref("transcoder", "api-key")}],
        **spec,
    )


def _everything_written(harness: Harness) -> str:
    return json.dumps(
        {
            name: {"data": stored.data, "annotations": stored.annotations}
            for (_, name), stored in harness.kube.config_maps.items()
            if name == OUTPUT_CONFIG_MAP
        }
    ) + json.dumps([r.body for r in harness.fake.requests()])


async def test_worker_secrets_are_put_once_and_deleted_when_no_container_declares_them(
    harness: Harness,
) -> None:
    harness.kube.put_secret("transcoder", {"api-key": SECRET_VALUE})
    harness.apply(harness.app())
    harness.apply(_with_secret())
    memory = AppMemory()

    await harness.run_app(memory)
    await harness.run_app(memory, observe=True)

    assert len(harness.fake.requests("workers.scripts.secrets.update")) == 1
    assert harness.fake.secret_value("demo", "TRANSCODER_API_KEY") == SECRET_VALUE
    assert harness.output().annotations["lunora.sh/worker-secrets"] == "TRANSCODER_API_KEY"
    assert SECRET_VALUE not in _everything_written(harness)

    harness.kube.put_secret("transcoder", {"api-key": SECRET_VALUE + "-rotated"})
    await harness.run_app(memory)
    assert len(harness.fake.requests("workers.scripts.secrets.update")) == 2
    assert harness.fake.secret_value("demo", "TRANSCODER_API_KEY") == SECRET_VALUE + "-rotated"

    harness.apply(container_body("web", generation=2))
    outcome = await harness.run_app(memory)

    assert outcome.error is None
    assert [r.operation for r in harness.fake.requests("workers.scripts.secrets.delete")] == [
        "workers.scripts.secrets.delete"
    ]
    assert harness.fake.secret_names("demo") == set()

    # The name leaves the annotation once its deletion succeeded; then nothing more happens.
    mutations = harness.mutations()
    await harness.run_app(memory)
    assert harness.output().annotations["lunora.sh/worker-secrets"] == ""
    writes = list(harness.kube.config_map_writes)
    await harness.run_app(memory)
    assert harness.kube.config_map_writes == writes
    assert harness.mutations() == mutations


async def _someone_else(harness: Harness) -> AccountClient:
    """The same account as a person with wrangler or the dashboard uses it."""
    return harness.clients.for_account(harness.fake.account_id, TOKEN, harness.fake.base_url)


async def test_a_worker_deployed_over_from_outside_is_uploaded_again_on_the_drift_pass(
    harness: Harness,
) -> None:
    memory = await _render_one(harness)
    ours = harness.fake.script("demo")
    assert ours is not None
    other = await _someone_else(harness)
    await other.scripts.upload(
        "demo",
        WorkerUpload(
            main_module="index.js",
            modules={"index.js": b"export default { fetch() { return new Response('not yours') } };\n"},
            compatibility_date="2025-09-01",
        ),
    )
    uploads = len(harness.uploads())

    await harness.run_app(memory)  # a container's pass trusts what it uploaded: no call to notice
    assert len(harness.uploads()) == uploads
    outcome = await harness.run_app(memory, observe=True)

    assert outcome.error is None, outcome.error
    restored = harness.fake.script("demo")
    assert restored is not None
    # The first upload carried the migrations too; everything else is back as it was.
    assert {k: v for k, v in restored["metadata"].items() if k != "migrations"} == {
        k: v for k, v in ours["metadata"].items() if k != "migrations"
    }
    assert len(harness.uploads()) == uploads + 1
    assert outcome.events == (
        ("Warning", "WorkerDrifted", "Worker demo was changed outside the operator; uploaded it again"),
    )
    again = await harness.run_app(memory, observe=True)
    assert again.events == ()
    assert len(harness.uploads()) == uploads + 1


async def test_a_worker_secret_deleted_from_outside_is_put_again_on_the_drift_pass(harness: Harness) -> None:
    harness.kube.put_secret("transcoder", {"api-key": SECRET_VALUE})
    harness.apply(harness.app())
    harness.apply(_with_secret())
    memory = AppMemory()
    await harness.run_app(memory)
    other = await _someone_else(harness)
    assert await other.secrets.delete("demo", "TRANSCODER_API_KEY")

    outcome = await harness.run_app(memory, observe=True)

    assert outcome.error is None, outcome.error
    assert harness.fake.secret_value("demo", "TRANSCODER_API_KEY") == SECRET_VALUE
    assert outcome.events == (
        (
            "Warning",
            "WorkerSecretDrifted",
            "Worker secret TRANSCODER_API_KEY was deleted outside the operator; put it again",
        ),
    )
    puts = len(harness.fake.requests("workers.scripts.secrets.update"))
    assert (await harness.run_app(memory, observe=True)).events == ()
    assert len(harness.fake.requests("workers.scripts.secrets.update")) == puts
    assert SECRET_VALUE not in _everything_written(harness)


async def test_a_failed_secret_delete_is_retried_by_the_next_run(harness: Harness) -> None:
    harness.kube.put_secret("transcoder", {"api-key": SECRET_VALUE})
    harness.apply(harness.app())
    harness.apply(_with_secret())
    memory = AppMemory()
    await harness.run_app(memory)

    harness.apply(container_body("web", generation=2))
    harness.fake.inject("workers.scripts.secrets.delete", Fault(status=403))
    failed = await harness.run_app(memory)
    assert failed.error is not None
    assert harness.fake.secret_names("demo") == {"TRANSCODER_API_KEY"}
    retried = await harness.run_app(AppMemory())  # even after a restart: the annotation remembers

    assert retried.error is None, retried.error
    assert harness.fake.secret_names("demo") == set()


async def test_without_a_bundle_the_app_waits_for_wrangler_deploy(harness: Harness) -> None:
    harness.apply(harness.app(bundle=False))
    harness.apply(container_body("web"))
    memory = AppMemory()

    waiting = await harness.run_app(memory)

    assert isinstance(waiting.error, Waiting)
    assert waiting.error.reason == "WaitingForWranglerDeploy"
    assert f"ConfigMap {OUTPUT_CONFIG_MAP}" in waiting.error.message
    assert condition(waiting, WORKER_DEPLOYED) == ("False", "WaitingForWranglerDeploy")
    assert harness.output().data["wrangler.jsonc"]

    still = await harness.run_app(memory)
    assert isinstance(still.error, Waiting)

    deployed = harness.fake.deploy_worker("demo", ["WebContainer"], migration_tag="v1")
    ready = await harness.run_app(memory)

    assert ready.error is None, ready.error
    assert condition(ready, WORKER_DEPLOYED) == ("True", "DeployedExternally")
    assert condition(ready, DURABLE_OBJECT_READY) == ("True", "NamespacesFound")
    assert ready.namespace_ids["WebContainer"] == deployed["WebContainer"]
    assert harness.fake.requests("workers.scripts.update") == []


@pytest.mark.parametrize("add_container", [False, True])
async def test_a_lost_output_and_a_restart_recover_the_migration_history_from_cloudflare(
    harness: Harness, add_container: bool
) -> None:
    harness.apply(harness.app())
    harness.apply(container_body("web"))
    await harness.run_app(AppMemory())

    harness.kube.delete_config_map(OUTPUT_CONFIG_MAP)
    if add_container:
        harness.apply(container_body("api", created="2026-01-01T00:00:20Z"))
    harness.fake.clear_requests()
    recovered = await harness.run_app(AppMemory())

    assert recovered.error is None, recovered.error
    history = migrations(harness.output_config())
    declared = [name for m in history for name in m.get("new_sqlite_classes", [])]
    assert declared.count("WebContainer") == 1
    assert history[0] == {"tag": "v1", "new_sqlite_classes": ["WebContainer"]}
    (upload,) = [r for r in harness.fake.requests("workers.scripts.update")]
    assert upload.status == 200, upload.body
    if add_container:
        assert upload.body["metadata"]["migrations"] == {
            "old_tag": "v1",
            "new_tag": "v2",
            "steps": [{"new_sqlite_classes": ["ApiContainer"]}],
        }
        assert recovered.migration_tag == "v2"
    else:
        assert "migrations" not in upload.body["metadata"]
        assert recovered.migration_tag == "v1"


JOBS_BUILD = {"build": {"context": {"configMap": {"name": "jobs-context"}}}}


async def _render_built(harness: Harness) -> dict[str, Any]:
    harness.apply(harness.app())
    harness.apply(container_body("web"))
    harness.apply(container_body("jobs", image=JOBS_BUILD))
    outcome = await harness.run_app(AppMemory(image_refs={"jobs": BUILT_IMAGE}))
    assert outcome.error is None, outcome.error
    return harness.output_config()


async def test_after_a_restart_a_built_container_keeps_the_image_it_was_rendered_with(
    harness: Harness,
) -> None:
    rendered = await _render_built(harness)

    # No memory and no image in the container's status: the last rendered config still knows it.
    outcome = await harness.run_app(AppMemory())

    assert outcome.error is None, outcome.error
    assert outcome.held == {}
    assert outcome.rendered["jobs"].entry["image"] == BUILT_IMAGE
    assert harness.output_config() == rendered
    assert len(harness.kube.config_map_writes) == 1


async def test_a_held_container_with_nothing_to_carry_blocks_the_publish_and_upload(harness: Harness) -> None:
    """The image is nowhere (no memory, no status) and the rendered config itself is gone (only
    the render record is left): publishing or uploading now would drop the container's entry and
    binding, so the app waits for it instead."""
    await _render_built(harness)
    del harness.output().data["wrangler.jsonc"]
    uploads = len(harness.uploads())

    held = await harness.run_app(AppMemory())

    assert isinstance(held.error, Waiting)
    assert held.error.reason == "ContainerPending"
    assert "jobs" in held.error.message
    assert isinstance(held.held["jobs"], Waiting)
    assert held.held["jobs"].reason == "ImageNotReady"
    assert "wrangler.jsonc" not in harness.output().data
    assert len(harness.uploads()) == uploads
    assert harness.fake.namespaces("demo").keys() == {"WebContainer", "JobsContainer"}


async def _render_one(harness: Harness) -> AppMemory:
    harness.apply(harness.app())
    harness.apply(container_body("web"))
    memory = AppMemory()
    await harness.run_app(memory)
    return memory


async def _render_two(harness: Harness, **api: Any) -> AppMemory:
    harness.apply(harness.app())
    harness.apply(container_body("web"))
    harness.apply(container_body("api", created="2026-01-01T00:00:20Z", **api))
    memory = AppMemory()
    outcome = await harness.run_app(memory)
    assert outcome.error is None, outcome.error
    return memory


async def test_a_container_removed_with_delete_leaves_the_config_with_a_deleted_classes_migration(
    harness: Harness,
) -> None:
    memory = await _render_two(harness)

    harness.remove("LunoraContainer", "api")
    outcome = await harness.run_app(memory)

    assert outcome.error is None, outcome.error
    config = harness.output_config()
    assert [c["class_name"] for c in config["containers"]] == ["WebContainer"]
    assert [b["name"] for b in config["durable_objects"]["bindings"]] == ["CONTAINER_WEB"]
    assert migrations(config)[-1] == {"tag": "v2", "deleted_classes": ["ApiContainer"]}
    assert harness.uploads()[-1]["migrations"] == {
        "old_tag": "v1",
        "new_tag": "v2",
        "steps": [{"deleted_classes": ["ApiContainer"]}],
    }
    assert set(harness.fake.namespaces("demo")) == {"WebContainer"}
    assert owned(harness) == ["web"]


async def test_a_delete_container_gone_without_its_finalizer_has_its_application_deleted_first(
    harness: Harness,
) -> None:
    # Cloudflare refuses a deleted_classes migration while the class's namespace serves an
    # application; the policy said Delete, so the run deletes the application, then the class.
    await _render_two(harness)
    await harness.controller.reconcile_container(harness.current("LunoraContainer", "api"))
    application = harness.fake.application("demo-apicontainer")
    assert application is not None

    harness.remove("LunoraContainer", "api")  # the finalizer was removed by hand: no cleanup ran
    outcome = await harness.controller.reconcile_app(harness.current("LunoraApp", "demo"))

    assert outcome.error is None, outcome.error
    assert harness.fake.application("demo-apicontainer") is None
    assert harness.uploads()[-1]["migrations"]["steps"] == [{"deleted_classes": ["ApiContainer"]}]
    assert set(harness.fake.namespaces("demo")) == {"WebContainer"}
    assert [event for event in harness.events if event[2] == "ApplicationDeleted"] == [
        (
            "demo",
            "Normal",
            "ApplicationDeleted",
            f"deleted application demo-apicontainer ({application['id']}): LunoraContainer api "
            "(deletionPolicy Delete) left without its finalizer deleting it",
        )
    ]


async def test_a_container_removed_with_orphan_keeps_its_entries(harness: Harness) -> None:
    memory = await _render_two(harness, deletionPolicy="Orphan")
    before = harness.output_config()

    harness.remove("LunoraContainer", "api")
    outcome = await harness.run_app(memory)

    assert outcome.error is None, outcome.error
    config = harness.output_config()
    assert by_class(config) == by_class(before)
    assert set(by_class(config)["containers"]) == {"WebContainer", "ApiContainer"}
    assert migrations(config) == migrations(before)
    assert harness.output_state()["orphaned"] == [
        {"resource": "api", "className": "ApiContainer", "bindingName": "CONTAINER_API"}
    ]
    assert set(harness.fake.namespaces("demo")) == {"WebContainer", "ApiContainer"}
    assert len(harness.uploads()) == 1


async def test_a_container_missing_from_the_index_but_still_in_kubernetes_is_held(harness: Harness) -> None:
    memory = await _render_two(harness)
    before = harness.output_config()

    harness.remove("LunoraContainer", "api", from_kubernetes=False)
    outcome = await harness.run_app(memory)

    assert outcome.error is None, outcome.error
    assert by_class(harness.output_config()) == by_class(before)
    assert migrations(harness.output_config()) == migrations(before)
    assert owned(harness) == ["api", "web"]
    assert len(harness.uploads()) == 1


async def test_a_name_collision_holds_the_newer_container_while_the_older_renders(harness: Harness) -> None:
    harness.apply(harness.app())
    harness.apply(container_body("web", created="2026-01-01T00:00:10Z"))
    newer = harness.apply(container_body("web-two", exportName="web", created="2026-01-01T00:00:30Z"))

    outcome = await harness.run_app(AppMemory())

    assert outcome.error is None, outcome.error
    assert list(outcome.rendered) == ["web"]
    collision = outcome.held["web-two"]
    assert isinstance(collision, Stalled)
    assert collision.reason == "NameCollision"
    assert '"web", "web-two"' in collision.message
    assert [c["class_name"] for c in harness.output_config()["containers"]] == ["WebContainer"]

    run = await harness.steps(newer)
    assert isinstance(run.error, Stalled)
    assert run.error.reason == "NameCollision"
    stalled = run.draft.conditions["Stalled"]
    assert (stalled.status, stalled.reason) == ("True", "NameCollision")


async def test_a_bundle_upload_refuses_bindings_it_would_drop(harness: Harness) -> None:
    base = '{\n  "name": "demo",\n  "kv_namespaces": [{"binding": "CACHE", "id": "abc"}]\n}\n'
    harness.kube.put_config_map(BASE_CONFIG_MAP, {"wrangler.jsonc": base})
    harness.apply(harness.app())
    harness.apply(container_body("web"))

    outcome = await harness.run_app(AppMemory())

    assert outcome.error is not None
    assert outcome.error.kind == "stalled"
    assert outcome.error.reason == "BindingsNotUploaded"
    assert "`kv_namespaces`" in outcome.error.message
    assert harness.uploads() == []
