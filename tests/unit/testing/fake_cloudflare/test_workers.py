"""FakeCloudflare's Worker side as `wrangler deploy` 4.86.0 uses it: the routes it reads before and
after its upload, its upload form, and what Cloudflare refuses of an upload."""

from __future__ import annotations

from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.fake_cloudflare.account import Module
from lunora_operator.testing.fake_cloudflare.workers import exported_names
from tests.support import wrangler_wire
from tests.support.cloudflare import call, errors, wrangler_upload

pytest_plugins = ["tests.support.cloudflare_fixtures"]

SOURCE = (
    b"export class Web {}\nexport class Api {}\nexport default { fetch() { return new Response('ok'); } };\n"
)


def js(source: str) -> Module:
    return Module("x", "application/javascript+module", source.encode())


def test_exported_names_are_read_as_the_runtime_finds_them() -> None:
    modules = {
        "index.js": js(
            "// export class Commented {}\n/* export class Blocked {} */\n"
            "export class A extends B {}\nexport async function f() {}\nexport const c = 1;\n"
            "class D {}\nclass E0 {}\nexport { D, E0 as E };\nexport * from './lib.js';\n"
            "export default class Anonymous {}\nconst Mentioned = 'Hidden';\n"
        ),
        "lib.js": js("export class FromLib {}\n"),
        "notes.txt": Module("notes.txt", "text/plain", b"export class NotCode {}"),
    }
    assert exported_names(modules, "index.js") == {"A", "f", "c", "D", "E", "FromLib"}


async def test_wranglers_first_upload_is_accepted_and_answers_with_its_version(fake: FakeCloudflare) -> None:
    """The Worker's observability travels whole ({"logs": {"enabled": true}} has no `enabled`),
    and wrangler needs `deployment_id` back: without it the deploy stops."""
    metadata = wrangler_wire.upload_metadata(["Web", "Api"], {"logs": {"enabled": True}})
    answer = await wrangler_upload(fake, "wire-demo", metadata, {"index.js": SOURCE})

    assert answer.status_code == 200, answer.text
    version_id = answer.json()["result"]["deployment_id"]
    (request,) = fake.requests("workers.scripts.update")
    assert request.body["files"] == {
        "index.js": {"part": "index.js", "content_type": "application/javascript+module", "size": len(SOURCE)}
    }
    namespaces = fake.namespaces("wire-demo")
    for asked in (version_id, version_id.replace("-", "")):
        version = await call(fake, "GET", f"/workers/scripts/wire-demo/versions/{asked}")
        assert version.status_code == 200, version.text
        assert version.json()["result"]["resources"]["bindings"] == [
            {
                "name": "WEB",
                "type": "durable_object_namespace",
                "class_name": "Web",
                "namespace_id": namespaces["Web"],
            },
            {
                "name": "API",
                "type": "durable_object_namespace",
                "class_name": "Api",
                "namespace_id": namespaces["Api"],
            },
        ]
    settings = await call(fake, "GET", "/workers/scripts/wire-demo/settings")
    assert settings.json()["result"]["observability"] == {"logs": {"enabled": True}}


async def test_a_worker_reads_as_missing_until_uploaded_then_as_wranglers(fake: FakeCloudflare) -> None:
    for path in ("/workers/services/wire-demo", "/workers/scripts/wire-demo/deployments"):
        missing = await call(fake, "GET", path)
        assert missing.status_code == 404
        assert errors(missing) == (10007, "This Worker does not exist on your account.")
    await wrangler_upload(
        fake, "wire-demo", wrangler_wire.upload_metadata(["Web"], None), {"index.js": SOURCE}
    )
    version_id = fake.script("wire-demo")["versions"][0]["id"]  # type: ignore[index]

    service = (await call(fake, "GET", "/workers/services/wire-demo")).json()["result"]
    deployments = (await call(fake, "GET", "/workers/scripts/wire-demo/deployments")).json()["result"]

    assert service["default_environment"]["environment"] == "production"
    assert service["default_environment"]["script"]["last_deployed_from"] == "wrangler"
    assert deployments["deployments"][0]["versions"] == [{"version_id": version_id, "percentage": 100.0}]


async def test_workers_dev_subdomains(fake: FakeCloudflare) -> None:
    await wrangler_upload(
        fake, "wire-demo", wrangler_wire.upload_metadata(["Web"], None), {"index.js": SOURCE}
    )
    account = (await call(fake, "GET", "/workers/subdomain")).json()["result"]
    before = (await call(fake, "GET", "/workers/scripts/wire-demo/subdomain")).json()["result"]
    after = await call(
        fake,
        "POST",
        "/workers/scripts/wire-demo/subdomain",
        json={"enabled": True},
        headers={"Cloudflare-Workers-Script-Api-Date": "2025-08-01"},
    )
    assert account["subdomain"]
    assert before == {"enabled": False, "previews_enabled": False}
    assert after.json()["result"] == {"enabled": True, "previews_enabled": False}


async def test_dropping_a_class_without_deleting_it_is_refused_with_10064(fake: FakeCloudflare) -> None:
    await wrangler_upload(
        fake, "wire-demo", wrangler_wire.upload_metadata(["Web", "Api"], None), {"index.js": SOURCE}
    )
    only_web = b"export class Web {}\nexport default {};\n"
    metadata = {**wrangler_wire.upload_metadata(["Web"], None)}
    del metadata["migrations"]

    refused = await wrangler_upload(fake, "wire-demo", metadata, {"index.js": only_web})

    assert refused.status_code == 400
    assert errors(refused) == (
        10064,
        "New version of script does not export class 'Api' which is depended on by existing Durable Objects. "
        "Did you forget to include it? If you renamed it, try a rename-class migration.",
    )
    metadata["migrations"] = {"old_tag": "v1", "new_tag": "v2", "steps": [{"deleted_classes": ["Api"]}]}
    accepted = await wrangler_upload(fake, "wire-demo", metadata, {"index.js": only_web})
    assert accepted.status_code == 200, accepted.text
    assert set(fake.namespaces("wire-demo")) == {"Web"}


async def test_a_class_created_and_deleted_in_one_first_upload_must_be_exported(fake: FakeCloudflare) -> None:
    """What a first `wrangler deploy` of a history that created a class and then deleted it
    sends: the new-class step needs the class exported, so it is refused with 10070."""
    metadata = wrangler_wire.upload_metadata(["Web"], None)
    metadata["migrations"] = {
        "new_tag": "v2",
        "steps": [{"new_sqlite_classes": ["Web", "Old"]}, {"deleted_classes": ["Old"]}],
    }
    refused = await wrangler_upload(fake, "wire-demo", metadata, {"index.js": SOURCE})
    assert errors(refused) == (
        10070,
        "Cannot apply new-class migration to class 'Old' that is not exported by script.",
    )


async def test_the_account_reports_its_limits_and_the_namespace_images_go_under(fake: FakeCloudflare) -> None:
    me = (await call(fake, "GET", "/containers/me")).json()["result"]
    assert me["external_account_id"] == fake.account_id
    assert me["limits"]["vcpu_per_deployment"] == 4
    assert me["limits"]["total_memory_mib"] == 6 * 1024 * 1024
