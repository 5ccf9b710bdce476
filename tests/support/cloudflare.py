"""Builders for tests of the Cloudflare layer against FakeCloudflare (fixtures: cloudflare_fixtures)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from lunora_operator.cloudflare import (
    AccountClient,
    DesiredApplication,
    DurableObjectBinding,
    MigrationUpload,
    RetryPolicy,
    UpdatePlan,
    WorkerUpload,
)
from lunora_operator.testing import FakeCloudflare

TOKEN = "cf-test-token-7d1b0c9e4f"
FAST_RETRY = RetryPolicy(deadline=5.0, initial_backoff=0.01, max_backoff=0.05, request_timeout=5.0)
SCRIPT = "demo"


def worker_upload(
    classes: Sequence[str] = ("Web",),
    *,
    old_tag: str | None = None,
    new_tag: str | None = "v1",
    container_classes: Sequence[str] | None = None,
    new_classes: Sequence[str] | None = None,
) -> WorkerUpload:
    """A Worker defining and binding `classes`; `new_classes` (default: all) get a migration."""
    source = "\n".join(f"export class {name} {{}}" for name in classes) + "\nexport default {};\n"
    migrated = list(classes if new_classes is None else new_classes)
    return WorkerUpload(
        main_module="index.js",
        modules={"index.js": source.encode()},
        compatibility_date="2025-04-01",
        bindings=[DurableObjectBinding(name=name.upper(), class_name=name) for name in classes],
        container_classes=list(classes if container_classes is None else container_classes),
        migrations=MigrationUpload(old_tag, new_tag, [{"new_sqlite_classes": migrated}])
        if new_tag and migrated
        else None,
    )


async def deployed_namespace(account: AccountClient, class_name: str = "Web", script: str = SCRIPT) -> str:
    await account.scripts.upload(script, worker_upload([class_name]))
    return (await account.durable_objects.namespaces(script))[class_name]


def desired(**changes: object) -> DesiredApplication:
    fields: dict[str, object] = {
        "name": "demo-web",
        "image": "docker.io/acme/web:1",
        "instance_type": "standard-1",
        "max_instances": 3,
    }
    fields.update(changes)
    return DesiredApplication(**fields)  # type: ignore[arg-type]


async def observed(account: AccountClient, wanted: DesiredApplication, namespace_id: str) -> UpdatePlan:
    """What an update of an application that exists would change (`observe`'s answer)."""
    plan = await account.applications.observe(wanted, namespace_id)
    assert plan is not None, f"no application {wanted.name}"
    return plan


def api_app(**changes: object) -> dict[str, object]:
    """An application as the API answers with it (sizes, not an instance type name)."""
    app: dict[str, object] = {
        "id": "app-1",
        "name": "demo-web",
        "version": 3,
        "scheduling_policy": "default",
        "instances": 0,
        "max_instances": 3,
        "configuration": {
            "image": "docker.io/acme/web:1",
            "vcpu": 0.5,
            "memory_mib": 4096,
            "disk": {"size_mb": 8000},
            "observability": {"logs": {"enabled": True}},
        },
        "constraints": {"tiers": [1, 2]},
        "durable_objects": {"namespace_id": "ns-1"},
    }
    app.update(changes)
    return app


async def call(fake: FakeCloudflare, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One raw request to the fake under `/accounts/<its account>` (`path` starts with `/`), as a
    client other than the SDK (wrangler) sends it."""
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "User-Agent": "wrangler/4.86.0",
        **kwargs.pop("headers", {}),
    }
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        return await client.request(method, f"/accounts/{fake.account_id}{path}", headers=headers, **kwargs)


async def wrangler_upload(
    fake: FakeCloudflare, script: str, metadata: Mapping[str, Any], modules: Mapping[str, bytes]
) -> httpx.Response:
    """A script upload in wrangler's multipart form: `metadata`, then a part per module named after it."""
    files = [("metadata", (None, json.dumps(metadata).encode(), None))]
    files += [(name, (name, content, "application/javascript+module")) for name, content in modules.items()]
    return await call(
        fake,
        "PUT",
        f"/workers/scripts/{script}",
        params={"excludeScript": "true", "bindings_inherit": "strict"},
        files=files,
    )


def errors(response: httpx.Response) -> tuple[int, Any]:
    """(the first error's code, its message: the parsed JSON of a Containers API error)."""
    (error, *_rest) = response.json()["errors"]
    message = error["message"]
    try:
        return error["code"], json.loads(message)
    except ValueError:
        return error["code"], message
