"""App-run steps that put the Worker on Cloudflare (owns `WorkerDeployed`) and find the Durable
Object namespace of each container class (owns `DurableObjectReady`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from lunora_operator.api.app import WorkerBundle
from lunora_operator.cloudflare import WorkerUpload
from lunora_operator.kube.gateway import Kube, ReferenceMissing
from lunora_operator.reconcile.app_run import AppRun
from lunora_operator.reconcile.conditions import DURABLE_OBJECT_READY, WORKER_DEPLOYED
from lunora_operator.reconcile.errors import Stalled, Transient, Waiting
from lunora_operator.reconcile.worker_secrets import digest, sync_worker_secrets
from lunora_operator.wrangler.worker_upload import MigrationHistoryGap, migration_steps, worker_upload

logger = logging.getLogger(__name__)
WAIT_FOR_DEPLOY_SECONDS = 30.0
# Binding kinds a wrangler config can declare that the upload does not send.
UNCARRIED_BINDINGS = (
    "vars",
    "kv_namespaces",
    "r2_buckets",
    "d1_databases",
    "services",
    "queues",
    "analytics_engine_datasets",
    "vectorize",
    "hyperdrive",
    "ai",
    "browser",
    "images",
    "send_email",
    "dispatch_namespaces",
    "mtls_certificates",
    "workflows",
    "secrets_store_secrets",
    "version_metadata",
)


def _waiting_for_deploy(run: AppRun, what: str) -> Waiting:
    run.memory.deployed_known = False  # look again next time
    return Waiting(
        "WaitingForWranglerDeploy",
        f"{what}: the app has no `worker` bundle, so deploy the config in ConfigMap {run.output_name} "
        "with `wrangler deploy`; the operator continues when Cloudflare has it",
        retry_after=WAIT_FOR_DEPLOY_SECONDS,
    )


async def _bundle_files(run: AppRun, kube: Kube, bundle: WorkerBundle) -> dict[str, bytes]:
    """The built modules from the bundle's ConfigMap."""
    namespace = run.record.namespace
    try:
        modules = await kube.config_map(namespace, bundle.config_map)
        if modules is None:
            raise ReferenceMissing("ConfigMap", namespace, bundle.config_map)
        files = {**{k: v.encode() for k, v in modules.data.items()}, **modules.binary_data}
        if bundle.main_module not in files:
            raise ReferenceMissing("ConfigMap", namespace, bundle.config_map, bundle.main_module)
    except ReferenceMissing as missing:
        raise Waiting("ConfigMapNotFound", f"worker bundle: {missing}") from None
    return files


def _upload_request(run: AppRun, bundle: WorkerBundle, files: Mapping[str, bytes]) -> WorkerUpload:
    """What the upload carries; refuses a config whose other bindings the upload would drop."""
    assert run.plan is not None
    uncarried = sorted(key for key in UNCARRIED_BINDINGS if run.plan.config.get(key))
    if uncarried:
        listed = ", ".join(f"`{key}`" for key in uncarried)
        raise Stalled(
            "BindingsNotUploaded",
            f"the wrangler config declares {listed}, which the operator's Worker upload does not carry "
            "(it sends Durable Object bindings, container classes, migrations and secrets); uploading "
            "would remove them from the Worker: deploy it with wrangler instead (remove `spec.worker`)",
        )
    history = run.plan.config.get("migrations")
    try:
        steps = migration_steps(history if isinstance(history, list) else [], run.memory.deployed_tag)
    except MigrationHistoryGap as gap:
        raise Stalled("MigrationHistoryGap", str(gap)) from None
    return worker_upload(run.plan.config, bundle, files, steps)


def _upload_key(request: WorkerUpload) -> str:
    """What the upload carries besides migrations: a change elsewhere in the config (an image, a
    size) concerns the applications, not the Worker. Bindings and classes are sets to Cloudflare:
    a held or orphaned entry moving within the config is no reason to deploy the Worker again."""
    carried = json.dumps(
        [
            request.main_module,
            request.compatibility_date,
            list(request.compatibility_flags),
            request.observability,
            sorted((b.name, b.class_name) for b in request.bindings),
            sorted(request.container_classes),
        ]
    )
    files = request.modules
    return digest(carried, *(part for name in sorted(files) for part in (name, files[name])))


async def _upload(run: AppRun, request: WorkerUpload) -> None:
    assert run.account is not None
    memory = run.memory
    script = await run.account.scripts.upload(run.app.spec.worker_name, request)
    memory.script_exists = True
    memory.uploaded_hash = _upload_key(request)
    memory.uploaded_etag = run.worker_etag = script.etag
    if run.worker_drift is not None:
        run.events.append(("Warning", "WorkerDrifted", f"{run.worker_drift}; uploaded it again"))
    migrations = request.migrations
    if migrations is not None:
        memory.deployed_tag = migrations.new_tag
    # New classes get namespaces, deleted ones lose them: list again, but keep what is known
    # until then (a lost output relies on it to recover the history).
    memory.namespaces_stale = True
    logger.info(
        "uploaded Worker %s%s",
        run.app.spec.worker_name,
        f" with migrations {migrations.old_tag or '(none)'} -> {migrations.new_tag}" if migrations else "",
    )


async def deploy_worker(run: AppRun, kube: Kube) -> None:
    """With a bundle: upload the Worker (modules, Durable Object bindings, container classes,
    the migrations after Cloudflare's tag) when anything changed. Then the Worker secrets."""
    bundle = run.app.spec.worker
    memory = run.memory
    if bundle is None:
        if not memory.script_exists:
            raise _waiting_for_deploy(
                run, f'Worker "{run.app.spec.worker_name}" does not exist on Cloudflare'
            )
        await sync_worker_secrets(run, kube)
        run.draft.set(WORKER_DEPLOYED, "True", "DeployedExternally", "the Worker is deployed by wrangler")
        return
    request = _upload_request(run, bundle, await _bundle_files(run, kube, bundle))
    if (
        _upload_key(request) != memory.uploaded_hash
        or request.migrations is not None
        or not memory.script_exists
    ):
        await _upload(run, request)
    await sync_worker_secrets(run, kube)
    run.draft.set(
        WORKER_DEPLOYED,
        "True",
        "Uploaded",
        f"Worker {run.app.spec.worker_name} uploaded (migration tag {memory.deployed_tag or 'none'})",
    )


async def resolve_namespaces(run: AppRun) -> None:
    """The Durable Object namespace id of every rendered container class."""
    assert run.account is not None
    memory = run.memory
    classes = {r.names.class_name for r in run.rendered.values()}
    if memory.namespaces_stale or classes - set(memory.namespace_ids):
        memory.namespace_ids = await run.account.durable_objects.namespaces(run.app.spec.worker_name)
        memory.namespaces_stale = False
    missing = sorted(classes - set(memory.namespace_ids))
    if missing:
        if run.app.spec.worker is None:
            raise _waiting_for_deploy(run, f"class {', '.join(missing)} has no Durable Object namespace yet")
        raise Transient(
            "NamespaceMissing",
            f"Cloudflare has no Durable Object namespace for class {', '.join(missing)} after the upload",
        )
    run.draft.set(
        DURABLE_OBJECT_READY,
        "True",
        "NamespacesFound",
        f"{len(classes)} Durable Object namespace(s) on Cloudflare",
    )
