"""What Cloudflare has of an app's Worker, read when this process does not know it yet (or the
pass was asked to look, or the render removes a class): whether the script exists, its migration
tag, the Durable Object namespace of each class, and whether someone deployed over the
operator's upload."""

from __future__ import annotations

from lunora_operator.cloudflare import AccountClient
from lunora_operator.reconcile.app_run import AppRun, WorkerOnCloudflare


async def worker_namespaces(
    account: AccountClient, worker_name: str, version_id: str | None
) -> dict[str, str]:
    """Durable Object class -> namespace id, found as wrangler finds a container's: a bound class
    in the bindings of the Worker's version (the one uploaded, else the one deployed), any other
    class in the namespace listing. A preview Worker's namespaces carry the parent's script
    name, so the listing alone can name the wrong one."""
    listed = await account.durable_objects.namespaces(worker_name)
    version = version_id or await account.scripts.deployed_version(worker_name)
    bound = await account.scripts.version_namespaces(worker_name, version) if version else {}
    return {**listed, **bound}


async def observe_worker(run: AppRun, fresh: bool = False) -> None:
    """Reads the Worker from Cloudflare unless the memory knows it and neither the pass nor
    `fresh` asks to look again."""
    memory = run.memory
    if memory.deployed_known and not (run.observe_cloudflare or fresh):
        run.worker_known = True
        return
    assert run.account is not None
    worker_name = run.app.spec.worker_name
    script = await run.account.scripts.observe(worker_name)
    memory.script_exists = script is not None
    memory.observed_etag = script.etag if script is not None else None
    if script is not None and memory.uploaded_etag not in (None, script.etag):
        # Someone deployed over the operator's upload (wrangler deploy, the dashboard).
        run.worker_drift = f"Worker {worker_name} was changed outside the operator"
        memory.uploaded_hash = memory.uploaded_etag = None
    memory.deployed_tag = script.migration_tag if script is not None else None
    memory.version_id = None  # the deployed one, until this process uploads its own
    memory.namespace_ids = await worker_namespaces(run.account, worker_name, None) if script else {}
    memory.namespaces_stale = False
    memory.deployed_known = True
    run.worker_known = run.worker_observed = True


def never_deployed(run: AppRun) -> bool:
    """Cloudflare, asked by this run, reports a Worker that has applied no migration: it does not
    exist, or has no migration tag and no class."""
    memory = run.memory
    return run.worker_observed and (
        not memory.script_exists or (memory.deployed_tag is None and not memory.namespace_ids)
    )


async def read_worker(account: AccountClient, worker_name: str) -> WorkerOnCloudflare:
    """Whether the Worker exists and which classes it declares, asked of Cloudflare."""
    script = await account.scripts.observe(worker_name)
    if script is None:
        return WorkerOnCloudflare(exists=False, classes=frozenset())
    return WorkerOnCloudflare(
        exists=True, classes=frozenset(await account.durable_objects.namespaces(worker_name))
    )
