"""The finalizers: a `Delete` container's application goes, then the container leaves the
config; with the token or the app gone first, the account the app last used still cleans up;
an app deleted with its containers waits for their finalizers."""

from __future__ import annotations

from typing import Any

import pytest

from lunora_operator.reconcile.errors import StepError, Waiting
from lunora_operator.testing import Fault
from tests.support.cloudflare import TOKEN
from tests.support.reconcile import TOKEN_SECRET, Harness, container_body


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
