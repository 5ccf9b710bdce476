"""Contract: Worker upload, migrations, Durable Object namespaces and secrets against FakeCloudflare."""

from __future__ import annotations

import dataclasses

import pytest

from lunora_operator.cloudflare import AccountClient, InvalidRequest, MigrationUpload, NotFound
from lunora_operator.testing import FakeCloudflare
from tests.support.cloudflare import SCRIPT, deployed_namespace, desired, worker_upload

pytest_plugins = ["tests.support.cloudflare_fixtures"]


async def test_upload_sends_wranglers_metadata_and_creates_one_namespace_per_new_class(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    assert await account.scripts.observe(SCRIPT) is None

    upload = worker_upload(["Web", "Api"], container_classes=["Web"])
    uploaded = await account.scripts.upload(SCRIPT, upload)

    assert uploaded.id == SCRIPT
    assert uploaded.migration_tag == "v1"
    (request,) = fake.requests("workers.scripts.update")
    assert request.body["metadata"] == {
        "main_module": "index.js",
        "compatibility_date": "2025-04-01",
        "bindings": [
            {"type": "durable_object_namespace", "name": "WEB", "class_name": "Web"},
            {"type": "durable_object_namespace", "name": "API", "class_name": "Api"},
        ],
        "keep_bindings": ["secret_text", "secret_key"],
        "containers": [{"class_name": "Web"}],
        "migrations": {"new_tag": "v1", "steps": [{"new_sqlite_classes": ["Web", "Api"]}]},
    }
    assert request.body["files"] == {
        "index.js": {"content_type": "application/javascript+module", "size": len(upload.modules["index.js"])}
    }
    namespaces = await account.durable_objects.namespaces(SCRIPT)
    assert set(namespaces) == {"Web", "Api"}
    assert namespaces == fake.namespaces(SCRIPT)
    observed = await account.scripts.observe(SCRIPT)
    assert observed == uploaded


async def test_namespaces_are_only_this_scripts(account: AccountClient) -> None:
    await account.scripts.upload(SCRIPT, worker_upload(["Web"]))
    await account.scripts.upload("other", worker_upload(["Web", "Api"]))

    mine = await account.durable_objects.namespaces(SCRIPT)
    theirs = await account.durable_objects.namespaces("other")

    assert set(mine) == {"Web"}
    assert set(theirs) == {"Web", "Api"}
    assert mine["Web"] != theirs["Web"]
    assert await account.durable_objects.namespaces("missing") == {}


async def test_wrong_old_tag_is_refused_and_the_right_one_applies(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    await account.scripts.upload(SCRIPT, worker_upload(["Web"]))
    web_namespace = fake.namespaces(SCRIPT)["Web"]
    second = worker_upload(["Web", "Api"], new_classes=["Api"], old_tag="v0", new_tag="v2")

    with pytest.raises(InvalidRequest) as refused:
        await account.scripts.upload(SCRIPT, second)
    assert "current migration tag is 'v1'" in refused.value.message
    assert "old_tag is 'v0'" in refused.value.message
    assert set(fake.namespaces(SCRIPT)) == {"Web"}

    applied = await account.scripts.upload(
        SCRIPT,
        dataclasses.replace(
            second, migrations=MigrationUpload("v1", "v2", [{"new_sqlite_classes": ["Api"]}])
        ),
    )

    assert applied.migration_tag == "v2"
    assert set(fake.namespaces(SCRIPT)) == {"Web", "Api"}
    assert fake.namespaces(SCRIPT)["Web"] == web_namespace


async def test_a_script_without_tag_refuses_an_old_tag(account: AccountClient) -> None:
    with pytest.raises(InvalidRequest, match="current migration tag is None"):
        await account.scripts.upload(SCRIPT, worker_upload(["Web"], old_tag="v1", new_tag="v2"))


async def test_upload_without_migrations_keeps_tag_and_namespaces(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    await account.scripts.upload(SCRIPT, worker_upload(["Web"]))
    before = fake.namespaces(SCRIPT)

    again = await account.scripts.upload(SCRIPT, dataclasses.replace(worker_upload(["Web"]), migrations=None))

    assert again.migration_tag == "v1"
    assert fake.namespaces(SCRIPT) == before


async def test_deleted_class_loses_its_namespace(fake: FakeCloudflare, account: AccountClient) -> None:
    await account.scripts.upload(SCRIPT, worker_upload(["Web", "Api"]))
    only_web = dataclasses.replace(
        worker_upload(["Web"]), migrations=MigrationUpload("v1", "v2", [{"deleted_classes": ["Api"]}])
    )

    await account.scripts.upload(SCRIPT, only_web)

    assert set(fake.namespaces(SCRIPT)) == {"Web"}


async def test_deleting_a_class_that_serves_an_application_is_refused(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    await account.applications.create(desired(), namespace_id)
    gone = dataclasses.replace(
        worker_upload([], new_tag=None),
        migrations=MigrationUpload("v1", "v2", [{"deleted_classes": ["Web"]}]),
    )

    with pytest.raises(InvalidRequest, match="delete the application first"):
        await account.scripts.upload(SCRIPT, gone)
    assert fake.namespaces(SCRIPT) == {"Web": namespace_id}


async def test_binding_a_class_without_migration_is_refused(account: AccountClient) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await account.scripts.upload(SCRIPT, worker_upload(["Web"], new_tag=None))
    assert "Cannot create binding for class 'Web'" in refused.value.message
    assert "Did you forget to apply a Durable Object migration?" in refused.value.message


async def test_a_container_class_must_be_a_durable_object_class(account: AccountClient) -> None:
    upload = dataclasses.replace(worker_upload(["Web"]), container_classes=["Web", "Ghost"])
    with pytest.raises(InvalidRequest, match="container class 'Ghost' is not a Durable Object class"):
        await account.scripts.upload(SCRIPT, upload)


async def test_a_new_class_must_be_in_the_code(account: AccountClient) -> None:
    upload = dataclasses.replace(worker_upload(["Web"]), modules={"index.js": b"export default {};"})
    with pytest.raises(InvalidRequest, match="class Web that is not exported by script"):
        await account.scripts.upload(SCRIPT, upload)


async def test_main_module_must_be_uploaded(account: AccountClient) -> None:
    with pytest.raises(ValueError, match=r"main module 'worker\.js' is not among the modules"):
        await account.scripts.upload(SCRIPT, dataclasses.replace(worker_upload(), main_module="worker.js"))


async def test_application_needs_a_container_enabled_namespace(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    await account.scripts.upload(SCRIPT, worker_upload(["Web"], container_classes=[]))
    namespace_id = (await account.durable_objects.namespaces(SCRIPT))["Web"]

    with pytest.raises(InvalidRequest) as refused:
        await account.applications.create(desired(), namespace_id)

    assert refused.value.code == "VALIDATE_INPUT"
    assert "durable_objects.namespace_id: " in refused.value.message
    assert "no containers entry" in refused.value.message
    assert fake.applications() == []


async def test_an_externally_deployed_worker_serves_an_application(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    """The "no worker bundle" path: the user ran `wrangler deploy`; the operator only finds the
    namespace and creates the application."""
    deployed = fake.deploy_worker("external", ["Transcoder"])

    namespaces = await account.durable_objects.namespaces("external")
    script = await account.scripts.observe("external")

    assert namespaces == deployed
    assert script is not None
    assert script.migration_tag == "v1"
    created = await account.applications.create(desired(name="external-transcoder"), namespaces["Transcoder"])
    assert created.namespace_id == deployed["Transcoder"]


async def test_secrets_put_list_delete_are_idempotent_and_survive_uploads(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    await account.scripts.upload(SCRIPT, worker_upload(["Web"]))

    await account.secrets.put(SCRIPT, "API_KEY", "first-value")
    await account.secrets.put(SCRIPT, "API_KEY", "second-value")
    await account.secrets.put(SCRIPT, "DB_URL", "postgres://u:p@h/db")

    assert await account.secrets.list(SCRIPT) == {"API_KEY", "DB_URL"}
    assert fake.secret_value(SCRIPT, "API_KEY") == "second-value"
    await account.scripts.upload(SCRIPT, dataclasses.replace(worker_upload(["Web"]), migrations=None))
    assert fake.secret_names(SCRIPT) == {"API_KEY", "DB_URL"}
    assert await account.secrets.delete(SCRIPT, "DB_URL") is True
    assert await account.secrets.delete(SCRIPT, "DB_URL") is False
    assert await account.secrets.list(SCRIPT) == {"API_KEY"}


async def test_secrets_of_a_missing_worker(account: AccountClient) -> None:
    with pytest.raises(NotFound, match="This Worker does not exist on your account"):
        await account.secrets.list("missing")
