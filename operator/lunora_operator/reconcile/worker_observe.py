"""What Cloudflare has of an app's Worker, read when this process does not know it yet (or the
pass was asked to look): whether the script exists, its migration tag, the Durable Object
namespace of each class, and whether someone deployed over the operator's upload."""

from __future__ import annotations

from lunora_operator.reconcile.app_run import AppRun


async def observe_worker(run: AppRun) -> None:
    memory = run.memory
    if memory.deployed_known and not run.observe_cloudflare:
        return
    assert run.account is not None
    worker_name = run.app.spec.worker_name
    script = await run.account.scripts.observe(worker_name)
    memory.script_exists = script is not None
    if script is not None and memory.uploaded_etag not in (None, script.etag):
        # Someone deployed over the operator's upload (wrangler deploy, the dashboard).
        run.worker_drift = f"Worker {worker_name} was changed outside the operator"
        memory.uploaded_hash = memory.uploaded_etag = None
    memory.deployed_tag = script.migration_tag if script is not None else None
    memory.namespace_ids = await run.account.durable_objects.namespaces(worker_name) if script else {}
    memory.deployed_known = True
