"""App-run steps that put the Worker on Cloudflare (owns `WorkerDeployed`) and find the Durable
Object namespace of each container class (owns `DurableObjectReady`)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping

from lunora_operator.api.app import WorkerBundle
from lunora_operator.cloudflare import WorkerUpload
from lunora_operator.kube.gateway import Kube, ReferenceMissing
from lunora_operator.name_lists import counted, few
from lunora_operator.reconcile.app_run import AppRun
from lunora_operator.reconcile.conditions import DURABLE_OBJECT_READY, WORKER_DEPLOYED
from lunora_operator.reconcile.errors import Stalled, Transient, Waiting
from lunora_operator.reconcile.worker_observe import worker_namespaces
from lunora_operator.reconcile.worker_records import (
    UploadRecord,
    adopted_upload,
    annotation_changes,
    record_annotations,
    recorded_upload,
)
from lunora_operator.reconcile.worker_secrets import digest, sync_worker_secrets
from lunora_operator.wrangler.worker_upload import (
    MigrationHistoryGap,
    MigrationSteps,
    migration_steps,
    worker_upload,
)

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
        listed = few(f"`{key}`" for key in uncarried)
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
    memory.observed_etag = None  # whatever Cloudflare holds now, this process has not read it
    script = await run.account.scripts.upload(run.app.spec.worker_name, request)
    memory.script_exists = True
    memory.uploaded_hash = _upload_key(request)
    memory.uploaded_etag = run.worker_etag = script.etag
    memory.version_id = script.version_id
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


def _adopt_recorded_upload(run: AppRun, content_key: str) -> None:
    """A process that has not uploaded takes the output's record of an earlier upload as its
    own when Cloudflare still holds exactly it."""
    memory = run.memory
    if memory.uploaded_hash is not None or not memory.script_exists or run.output is None:
        return
    adopted = adopted_upload(recorded_upload(run.output.annotations), content_key, memory.observed_etag)
    if adopted is not None:
        memory.uploaded_hash, memory.uploaded_etag = adopted.content_key, adopted.etag


async def _record_writes(run: AppRun, kube: Kube) -> None:
    """Records the upload and the secrets Cloudflare holds in the output's annotations."""
    memory = run.memory
    upload = (
        UploadRecord(memory.uploaded_hash, memory.uploaded_etag)
        if memory.uploaded_hash is not None and memory.uploaded_etag is not None
        else None
    )
    current = run.output.annotations if run.output is not None else {}
    changes = annotation_changes(current, record_annotations(upload, memory.secret_macs))
    if changes and (run.output is not None or run.published):
        await kube.annotate_config_map(run.record.namespace, run.output_name, changes)


async def _write_worker(run: AppRun, kube: Kube) -> None:
    bundle = run.app.spec.worker
    memory = run.memory
    if bundle is None:
        if not memory.script_exists:
            raise _waiting_for_deploy(
                run, f'Worker "{run.app.spec.worker_name}" does not exist on Cloudflare'
            )
        memory.uploaded_hash = memory.uploaded_etag = None  # wrangler deploys it
        await sync_worker_secrets(run, kube)
        return
    request = _upload_request(run, bundle, await _bundle_files(run, kube, bundle))
    content_key = _upload_key(request)
    _adopt_recorded_upload(run, content_key)
    if content_key != memory.uploaded_hash or request.migrations is not None or not memory.script_exists:
        await _upload(run, request)
    await sync_worker_secrets(run, kube)


async def deploy_worker(run: AppRun, kube: Kube) -> None:
    """With a bundle: upload the Worker (modules, Durable Object bindings, container classes,
    the migrations after Cloudflare's tag) when anything changed. Then the Worker secrets. What
    was written is recorded in the output, also when a later write failed."""
    try:
        await _write_worker(run, kube)
    except BaseException:
        with contextlib.suppress(Exception):
            await _record_writes(run, kube)
        raise
    await _record_writes(run, kube)
    if run.app.spec.worker is None:
        run.draft.set(WORKER_DEPLOYED, "True", "DeployedExternally", "the Worker is deployed by wrangler")
        return
    run.draft.set(
        WORKER_DEPLOYED,
        "True",
        "Uploaded",
        f"Worker {run.app.spec.worker_name} uploaded (migration tag {run.memory.deployed_tag or 'none'})",
    )


async def resolve_namespaces(run: AppRun) -> None:
    """The Durable Object namespace id of every rendered container class."""
    assert run.account is not None
    memory = run.memory
    classes = {r.names.class_name for r in run.rendered.values()}
    if memory.namespaces_stale or classes - set(memory.namespace_ids):
        memory.namespace_ids = await worker_namespaces(
            run.account, run.app.spec.worker_name, memory.version_id
        )
        memory.namespaces_stale = False
    missing = sorted(classes - set(memory.namespace_ids))
    if missing:
        if run.app.spec.worker is None:
            raise _waiting_for_deploy(
                run, f"{counted(missing, 'class', 'classes')} without a Durable Object namespace yet"
            )
        raise Transient(
            "NamespaceMissing",
            f"Cloudflare has no Durable Object namespace for {counted(missing, 'class', 'classes')} after "
            "the upload",
        )
    run.namespaces_resolved = True
    run.draft.set(
        DURABLE_OBJECT_READY,
        "True",
        "NamespacesFound",
        f"{len(classes)} Durable Object namespace(s) on Cloudflare",
    )


def _describe(pending: MigrationSteps) -> str:
    """`migration v3 (deleted_classes JobContainer)`: the pending migrations and what they do."""
    changes: dict[str, list[str]] = {}
    for step in pending.steps:
        for key, value in step.items():
            names = value if isinstance(value, list) else [value]
            changes.setdefault(key, []).extend(
                str(n.get("to") if isinstance(n, Mapping) else n) for n in names
            )
    done = "; ".join(f"{key} {few(names)}" for key, names in changes.items())
    count = len(pending.steps)
    which = f"migration {pending.new_tag}" if count == 1 else f"{count} migrations up to {pending.new_tag}"
    return f"{which} ({done})" if done else which


async def migrations_deployed(run: AppRun) -> None:
    """Without a bundle: the rendered config may hold migrations Cloudflare has not applied (a
    class deleted with its container). The operator cannot apply them, and no deletion waits for
    them: the app says they wait for `wrangler deploy`."""
    if run.app.spec.worker is not None:
        return
    assert run.plan is not None
    history = run.plan.config.get("migrations")
    try:
        pending = migration_steps(history if isinstance(history, list) else [], run.memory.deployed_tag)
    except MigrationHistoryGap as gap:
        raise Stalled("MigrationHistoryGap", str(gap)) from None
    if pending is not None:
        raise _waiting_for_deploy(run, f"{_describe(pending)} is not on Cloudflare yet")
