"""The Worker upload in wrangler's form, and the Durable Object namespace found as wrangler finds it."""

from __future__ import annotations

import json

from lunora_operator.cloudflare import AccountClient, DurableObjectBinding, MigrationUpload, WorkerUpload
from lunora_operator.cloudflare.scripts import upload_metadata, upload_parts, version_namespaces
from lunora_operator.testing import FakeCloudflare
from tests.support import wrangler_wire
from tests.support.cloudflare import SCRIPT, worker_upload

pytest_plugins = ["tests.support.cloudflare_fixtures"]


def wrangler_like(observability: dict[str, object] | None) -> WorkerUpload:
    return WorkerUpload(
        main_module="index.js",
        modules={
            "chunk-1.js": b"export const x = 1;",
            "index.js": b"export class Web {}",
            "banner.txt": b"hi",
        },
        compatibility_date="2025-09-01",
        bindings=[DurableObjectBinding("WEB", "Web"), DurableObjectBinding("API", "Api")],
        container_classes=["Web", "Api"],
        migrations=MigrationUpload(None, "v1", [{"new_sqlite_classes": ["Web", "Api"]}]),
        observability=observability,
    )


def test_the_metadata_is_wranglers_with_the_secrets_kept() -> None:
    metadata = upload_metadata(wrangler_like({"logs": {"enabled": True}}))
    expected = {
        **wrangler_wire.upload_metadata(["Web", "Api"], None),
        "keep_bindings": ["secret_text", "secret_key"],
        "observability": {"logs": {"enabled": True}},
    }
    assert json.dumps(metadata) == json.dumps(expected)


def test_each_module_is_a_part_named_after_it_the_main_module_first() -> None:
    parts = upload_parts(wrangler_like(None))
    assert [(name, filename, content_type) for name, (filename, _content, content_type) in parts] == [
        ("metadata", None, None),
        ("index.js", "index.js", "application/javascript+module"),
        ("chunk-1.js", "chunk-1.js", "application/javascript+module"),
        ("banner.txt", "banner.txt", "text/plain"),
    ]


def test_a_bound_class_is_found_in_the_versions_bindings_as_wrangler_finds_it() -> None:
    bindings = [
        {
            "type": "durable_object_namespace",
            "name": "OTHER",
            "class_name": "Web",
            "script_name": "other",
            "namespace_id": "ns-other",
        },
        {"type": "durable_object_namespace", "name": "NONE", "class_name": "Web"},
        {"type": "durable_object_namespace", "name": "WEB", "class_name": "Web", "namespace_id": "ns-web"},
        {
            "type": "durable_object_namespace",
            "name": "WEB2",
            "class_name": "Web",
            "script_name": SCRIPT,
            "namespace_id": "ns-2",
        },
        {"type": "kv_namespace", "name": "KV", "class_name": "Api", "namespace_id": "kv-1"},
    ]
    assert version_namespaces(bindings, SCRIPT) == {"Web": "ns-web"}


async def test_the_uploaded_version_names_the_namespace_where_the_listing_may_not(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    """A preview Worker's namespace carries the parent's script name: listed before the real one,
    the listing's first match is the preview's, the uploaded version's binding is the real one."""
    uploaded = await account.scripts.upload(SCRIPT, worker_upload(["Web"]))
    (real,) = fake.namespaces(SCRIPT).values()
    preview = fake.add_preview_namespace(SCRIPT, "Web")

    assert uploaded.version_id is not None
    assert await account.durable_objects.namespaces(SCRIPT) == {"Web": preview}
    assert await account.scripts.version_namespaces(SCRIPT, uploaded.version_id) == {"Web": real}
