"""The finalizers: a `Delete` container's application goes, then the container leaves the
config; with the token or the app gone first, the account the app last used still cleans up;
an app deleted with its containers waits for their finalizers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from lunora_operator.api.app import WorkerBundle
from lunora_operator.cloudflare import WorkerUpload
from lunora_operator.kube.gateway import NamespaceTerminating
from lunora_operator.reconcile.conditions import WORKER_DEPLOYED, find
from lunora_operator.reconcile.errors import Stalled, StepError, Waiting
from lunora_operator.testing import Fault
from lunora_operator.wrangler.worker_upload import migration_steps, worker_upload
from tests.support.cloudflare import TOKEN
from tests.support.reconcile import TOKEN_SECRET, Harness, container_body, worker_source


def marked_deleted(body: dict[str, Any]) -> dict[str, Any]:
    body["metadata"]["deletionTimestamp"] = "2026-01-02T00:00:00Z"
    return body


async def test_the_finalizer_deletes_the_application_then_renders_the_container_out(harness: Harness) -> None:
    body = await harness.ready_container()
    harness.apply(container_body("api", created="2026-01-01T00:00:20Z"))
    await harness.controller.renders.request(harness.key)
    harness.fake.clear_requests()
    deleting = harness.apply(marked_deleted(body))

    await harness.controller.finalize_container(deleting)

    assert harness.fake.application("demo-webcontainer") is None
    config = harness.output_config()
    assert [c["class_name"] for c in config["containers"]] == ["ApiContainer"]
    assert config["migrations"][-1] == {"tag": "v3", "deleted_classes": ["WebContainer"]}
    operations = [r.operation for r in harness.mutations()]
    assert operations.index("applications.delete") < operations.index("workers.scripts.update")
    assert harness.uploads()[-1]["migrations"] == {
        "old_tag": "v2",
        "new_tag": "v3",
        "steps": [{"deleted_classes": ["WebContainer"]}],
    }
    assert "WebContainer" not in harness.fake.namespaces("demo")


async def test_the_finalizer_raises_until_the_container_has_left_the_worker(harness: Harness) -> None:
    deleting = harness.apply(marked_deleted(await harness.ready_container()))

    harness.kube.delete_secret(TOKEN_SECRET)
    harness.memory.account = None  # as after a restart
    with pytest.raises(Waiting, match="API token"):
        await harness.controller.finalize_container(deleting)
    assert harness.fake.application("demo-webcontainer") is not None

    harness.kube.put_secret(TOKEN_SECRET, {"token": TOKEN})
    harness.fake.inject("workers.scripts.update", Fault(status=400))
    with pytest.raises(StepError):
        await harness.controller.finalize_container(deleting)
    assert harness.fake.application("demo-webcontainer") is None
    assert "WebContainer" in harness.fake.namespaces("demo")

    await harness.controller.finalize_container(deleting)
    assert "WebContainer" not in harness.fake.namespaces("demo")


async def test_a_token_deleted_first_still_cleans_up_with_the_account_last_used(harness: Harness) -> None:
    """kubectl delete -f examples/: the token Secret goes before the containers."""
    deleting = harness.apply(marked_deleted(await harness.ready_container()))
    harness.kube.delete_secret(TOKEN_SECRET)

    await harness.controller.finalize_container(deleting)

    assert harness.fake.application("demo-webcontainer") is None
    assert "WebContainer" not in harness.fake.namespaces("demo")


async def test_with_the_app_gone_the_application_is_deleted_with_the_account_last_used(
    harness: Harness,
) -> None:
    deleting = harness.apply(marked_deleted(await harness.ready_container()))
    harness.remove("LunoraApp", "demo")
    harness.fake.clear_requests()

    await harness.controller.finalize_container(deleting)

    assert harness.fake.application("demo-webcontainer") is None
    assert [r.operation for r in harness.mutations()] == ["applications.delete"]  # no config left to upload


async def test_with_the_app_and_every_account_gone_the_application_is_left_with_a_warning(
    harness: Harness,
) -> None:
    deleting = harness.apply(marked_deleted(await harness.ready_container()))
    harness.remove("LunoraApp", "demo")
    harness.memory.account = None
    harness.fake.clear_requests()

    await harness.controller.finalize_container(deleting)

    assert harness.fake.requests() == []
    assert harness.events[-1][1:3] == ("Warning", "ApplicationLeft")


async def test_an_app_deleted_with_its_containers_waits_for_their_finalizers(harness: Harness) -> None:
    web = await harness.ready_container()
    app = harness.current("LunoraApp", "demo")
    harness.apply(marked_deleted(web))

    with pytest.raises(Waiting, match="web"):
        await harness.controller.finalize_app(app)

    harness.remove("LunoraContainer", "web")
    await harness.controller.finalize_app(app)


def migrations_naming(config: dict[str, Any], class_name: str) -> list[dict[str, Any]]:
    return [m for m in config.get("migrations") or [] if class_name in json.dumps(m)]


def as_wrangler_deploys(
    config: dict[str, Any], exported: list[str], deployed_tag: str | None
) -> WorkerUpload:
    """The upload `wrangler deploy` makes of a rendered config: a Worker exporting `exported`,
    the migrations after the tag Cloudflare has."""
    bundle = WorkerBundle.model_validate(
        {"configMap": "unused", "mainModule": "index.js", "compatibilityDate": "2025-09-01"}
    )
    steps = migration_steps(config.get("migrations") or [], deployed_tag)
    return worker_upload(config, bundle, {"index.js": worker_source(exported).encode()}, steps)


def app_condition(harness: Harness, condition_type: str) -> dict[str, Any]:
    found = find(harness.kube.status_of("lunoraapps", "demo").get("conditions"), condition_type)
    assert found is not None, condition_type
    return dict(found)


async def test_without_a_bundle_and_never_deployed_the_finalizer_goes_at_once(harness: Harness) -> None:
    """No Worker on Cloudflare, so nothing declares the class: no wait for a `wrangler deploy`,
    and the class leaves no migration behind, so the first deploy of the config is accepted."""
    harness.apply(harness.app(bundle=False))
    web = harness.apply(container_body("web"))
    harness.apply(container_body("api", created="2026-01-01T00:00:20Z"))
    await harness.controller.reconcile_container(web)
    assert migrations_naming(harness.output_config(), "WebContainer") != []

    await harness.controller.finalize_container(
        harness.apply(marked_deleted(harness.current("LunoraContainer", "web")))
    )

    config = harness.output_config()
    assert [c["class_name"] for c in config["containers"]] == ["ApiContainer"]
    assert migrations_naming(config, "WebContainer") == []
    account = harness.clients.for_account(harness.fake.account_id, TOKEN, harness.fake.base_url)
    await account.scripts.upload("demo", as_wrangler_deploys(config, ["ApiContainer"], None))
    assert set(harness.fake.namespaces("demo")) == {"ApiContainer"}


async def test_without_a_bundle_the_finalizer_does_not_wait_for_wrangler_deploy(harness: Harness) -> None:
    """The Worker declares the class; only a `wrangler deploy` can delete it. The container goes
    once the config says so; the app says the migration waits for the deploy; the other
    containers stay Ready."""
    harness.fake.deploy_worker("demo", ["WebContainer", "ApiContainer"], migration_tag="v1")
    harness.apply(harness.app(bundle=False))
    harness.apply(container_body("web"))
    api = harness.apply(container_body("api", created="2026-01-01T00:00:20Z"))
    assert await harness.controller.reconcile_container(harness.current("LunoraContainer", "web")) is None
    assert await harness.controller.reconcile_container(api) is None

    await harness.controller.finalize_container(
        harness.apply(marked_deleted(harness.current("LunoraContainer", "web")))
    )

    assert harness.fake.application("demo-webcontainer") is None
    config = harness.output_config()
    assert config["migrations"][-1] == {"tag": "v2", "deleted_classes": ["WebContainer"]}
    deployed = app_condition(harness, WORKER_DEPLOYED)
    assert (deployed["status"], deployed["reason"]) == ("False", "WaitingForWranglerDeploy")
    assert "migration v2 (deleted_classes WebContainer) is not on Cloudflare yet" in deployed["message"]
    assert "`wrangler deploy`" in deployed["message"]
    harness.apply(container_body("api", created="2026-01-01T00:00:20Z", maxInstances=7))
    assert await harness.controller.reconcile_container(harness.current("LunoraContainer", "api")) is None
    assert harness.fake.application("demo-apicontainer")["max_instances"] == 7  # type: ignore[index]

    account = harness.clients.for_account(harness.fake.account_id, TOKEN, harness.fake.base_url)
    await account.scripts.upload("demo", as_wrangler_deploys(config, ["ApiContainer"], "v1"))
    await harness.controller.renders.reconcile(harness.inventory.app(harness.key))  # type: ignore[arg-type]
    deployed = app_condition(harness, WORKER_DEPLOYED)
    assert (deployed["status"], deployed["reason"]) == ("True", "DeployedExternally")


async def test_with_a_bundle_and_no_worker_on_cloudflare_the_finalizer_goes(harness: Harness) -> None:
    """The upload never succeeded, so the Worker does not exist: nothing of the class is left."""
    harness.fake.inject("workers.scripts.update", Fault(status=400, times=None))
    harness.apply(harness.app())
    web = harness.apply(container_body("web"))
    assert await harness.controller.reconcile_container(web) is not None
    assert harness.fake.script("demo") is None

    await harness.controller.finalize_container(
        harness.apply(marked_deleted(harness.current("LunoraContainer", "web")))
    )

    assert migrations_naming(harness.output_config(), "WebContainer") == []


async def test_while_the_worker_declares_the_class_the_wait_says_so_and_why(harness: Harness) -> None:
    deleting = harness.apply(marked_deleted(await harness.ready_container()))
    harness.fake.inject("workers.scripts.update", Fault(status=400, times=None))

    with pytest.raises(StepError) as waiting:
        await harness.controller.finalize_container(deleting)

    assert "Worker demo still declares class WebContainer: " in waiting.value.message


async def test_an_application_cloudflare_still_lists_after_its_deletion_is_waited_for(
    harness: Harness,
) -> None:
    deleting = harness.apply(marked_deleted(await harness.ready_container()))
    harness.fake.set_durations(delete=30)

    with pytest.raises(Waiting) as waiting:
        await harness.controller.finalize_container(deleting)
    assert waiting.value.reason == "ApplicationDeleting"
    assert "demo-webcontainer" in waiting.value.message
    assert "WebContainer" in harness.fake.namespaces("demo")  # no class deleted under a live application

    harness.fake_clock.advance(30)
    await harness.controller.finalize_container(deleting)
    assert harness.fake.application("demo-webcontainer") is None
    assert "WebContainer" not in harness.fake.namespaces("demo")


async def test_the_application_is_found_by_the_id_the_status_recorded(harness: Harness) -> None:
    web = await harness.ready_container()
    application_id = web["status"]["applicationId"]
    web["status"]["applicationName"] = "a-name-it-never-had"

    await harness.controller.finalize_container(harness.apply(marked_deleted(web)))

    assert harness.fake.application("demo-webcontainer") is None
    assert [r.path.rsplit("/", 1)[-1] for r in harness.fake.requests("applications.delete")] == [
        application_id
    ]


async def test_a_suspended_app_holds_a_class_the_worker_declares_and_says_so(harness: Harness) -> None:
    deleting = harness.apply(marked_deleted(await harness.ready_container()))
    harness.apply(harness.app(suspend=True))

    with pytest.raises(Waiting) as waiting:
        await harness.controller.finalize_container(deleting)

    assert waiting.value.reason == "AppSuspended"
    assert "Worker demo still declares class WebContainer" in waiting.value.message


async def test_an_invalid_app_is_named_as_what_the_finalizer_waits_for(harness: Harness) -> None:
    deleting = harness.apply(marked_deleted(await harness.ready_container()))
    harness.memory.account = None  # as after a restart
    harness.apply(harness.app(workerName="Not A Worker Name"))

    with pytest.raises(Stalled) as stalled:
        await harness.controller.finalize_container(deleting)

    assert stalled.value.reason == "InvalidSpec"
    assert 'LunoraApp "demo"' in stalled.value.message


async def test_a_container_created_again_under_a_released_name_keeps_its_entry_until_its_own_finalizer(
    harness: Harness,
) -> None:
    await harness.controller.finalize_container(
        harness.apply(marked_deleted(await harness.ready_container()))
    )
    harness.remove("LunoraContainer", "web")
    again = await harness.ready_container()

    harness.apply(marked_deleted(again))  # deleting, but its finalizer has not run yet
    outcome = await harness.controller.renders.request(harness.key)

    assert "web" in outcome.rendered
    assert harness.fake.application("demo-webcontainer") is not None


async def test_an_app_waiting_for_many_containers_names_a_few_and_counts_the_rest(harness: Harness) -> None:
    harness.apply(harness.app())
    for index in range(100):
        harness.apply(container_body(f"c0x{index:02d}", deleting=True))

    with pytest.raises(Waiting) as waiting:
        await harness.controller.finalize_app(harness.current("LunoraApp", "demo"))

    assert waiting.value.message == (
        "waiting for 100 LunoraContainers (c0x00, c0x01, c0x02 and 97 more) to remove their "
        "Cloudflare applications"
    )


async def test_an_app_deleted_with_its_containers_goes_as_soon_as_they_do_without_saying_it_waited(
    harness: Harness,
) -> None:
    """The normal case of `kubectl delete -f`: the containers go within the call's patience, so
    no failure (and no Event kopf would post for one) is raised."""
    web = await harness.ready_container()
    app = harness.current("LunoraApp", "demo")
    harness.apply(marked_deleted(web))
    harness.controller.finalizers.patience = 30.0
    asyncio.get_running_loop().call_later(0.1, harness.remove, "LunoraContainer", "web")

    await harness.controller.finalize_app(app)  # returns: nothing raised, nothing posted


async def test_in_a_namespace_being_deleted_the_container_goes_although_nothing_can_be_rendered(
    harness: Harness,
) -> None:
    """Deleted with its namespace, a container may be called before its app is marked deleted;
    the API server then refuses every write, and the app goes with the namespace anyway."""
    deleting = harness.apply(marked_deleted(await harness.ready_container()))
    harness.apply(container_body("api", created="2026-01-01T00:00:20Z"))

    async def refused(namespace: str, name: str, *_: Any) -> None:
        raise NamespaceTerminating(f'writing ConfigMap "{namespace}/{name}" failed: 403 Forbidden')

    harness.kube.write_config_map = refused  # type: ignore[method-assign]

    await harness.controller.finalize_container(deleting)

    assert harness.fake.application("demo-webcontainer") is None
