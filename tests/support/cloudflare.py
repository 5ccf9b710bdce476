"""Builders for tests of the Cloudflare layer against FakeCloudflare (fixtures: cloudflare_fixtures)."""

from __future__ import annotations

from collections.abc import Sequence

from lunora_operator.cloudflare import (
    AccountClient,
    DesiredApplication,
    DurableObjectBinding,
    MigrationUpload,
    RetryPolicy,
    UpdatePlan,
    WorkerUpload,
)

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
        "image": "registry.cloudflare.com/acct/web:1",
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
            "image": "registry.cloudflare.com/acct/web:1",
            "vcpu": 0.5,
            "memory_mib": 4096,
            "disk": {"size_mb": 8000},
        },
        "durable_objects": {"namespace_id": "ns-1"},
        "observability": {"logs": {"enabled": True}},
    }
    app.update(changes)
    return app
