"""Steps of an app run that put the Worker on Cloudflare (owns `WorkerDeployed`) and find the
Durable Object namespace of each container class (owns `DurableObjectReady`)."""

from __future__ import annotations

import hashlib
import json
import logging

from lunora_operator.cloudflare import CloudflareError
from lunora_operator.kube.gateway import Kube, KubeUnavailable, ReferenceMissing
from lunora_operator.reconcile.app_render import previous_worker_secrets
from lunora_operator.reconcile.app_run import AppRun
from lunora_operator.reconcile.cloudflare_edge import step_error, worker_upload_request
from lunora_operator.reconcile.conditions import DURABLE_OBJECT_READY, WORKER_DEPLOYED
from lunora_operator.reconcile.errors import Stalled, Transient, Waiting, kube_step_error
from lunora_operator.reconcile.worker import MigrationHistoryGap, migration_steps

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


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def _waiting_for_deploy(run: AppRun, what: str) -> Waiting:
    run.memory.deployed_known = False  # look again next time
    return Waiting(
        "WaitingForWranglerDeploy",
        f"{what}: the app has no `worker` bundle, so deploy the config in ConfigMap {run.output_name} "
        "with `wrangler deploy`; the operator continues when Cloudflare has it",
        retry_after=WAIT_FOR_DEPLOY_SECONDS,
    )


async def deploy_worker(run: AppRun, kube: Kube) -> None:
    """With a bundle: upload the Worker (modules, Durable Object bindings, container classes,
    the migrations after Cloudflare's tag) when anything changed. Then the Worker secrets."""
    bundle = run.app.spec.worker
    assert run.account is not None
    assert run.plan is not None
    assert run.config_hash is not None
    memory = run.memory
    if bundle is None:
        if not memory.script_exists:
            raise _waiting_for_deploy(
                run, f'Worker "{run.app.spec.worker_name}" does not exist on Cloudflare'
            )
        await sync_worker_secrets(run, kube)
        run.draft.set(WORKER_DEPLOYED, "True", "DeployedExternally", "the Worker is deployed by wrangler")
        return
    try:
        modules = await kube.config_map(run.record.namespace, bundle.config_map)
        if modules is None:
            raise ReferenceMissing("ConfigMap", run.record.namespace, bundle.config_map)
        files = {**{k: v.encode() for k, v in modules.data.items()}, **modules.binary_data}
        if bundle.main_module not in files:
            raise ReferenceMissing("ConfigMap", run.record.namespace, bundle.config_map, bundle.main_module)
    except ReferenceMissing as missing:
        raise Waiting("ConfigMapNotFound", f"worker bundle: {missing}") from None
    except KubeUnavailable as error:
        raise kube_step_error(error) from None
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
        steps = migration_steps(history if isinstance(history, list) else [], memory.deployed_tag)
    except MigrationHistoryGap as gap:
        raise Stalled("MigrationHistoryGap", str(gap)) from None
    request = worker_upload_request(run.plan.config, bundle, files, steps)
    # What the upload carries besides migrations: a change elsewhere in the config (an image, a
    # size) concerns the applications, not the Worker. Bindings and classes are sets to Cloudflare:
    # a held or orphaned entry moving within the config is no reason to deploy the Worker again.
    upload_key = _digest(
        json.dumps(
            [
                request.main_module,
                request.compatibility_date,
                list(request.compatibility_flags),
                request.observability,
                sorted((b.name, b.class_name) for b in request.bindings),
                sorted(request.container_classes),
            ]
        ),
        *(part for name in sorted(files) for part in (name, files[name])),
    )
    if upload_key != memory.uploaded_hash or steps is not None or not memory.script_exists:
        try:
            script = await run.account.scripts.upload(run.app.spec.worker_name, request)
        except CloudflareError as error:
            raise step_error(error) from None
        memory.script_exists = True
        memory.uploaded_hash = upload_key
        memory.uploaded_etag = script.etag
        if run.worker_drift is not None:
            run.events.append(("Warning", "WorkerDrifted", f"{run.worker_drift}; uploaded it again"))
        if steps is not None:
            memory.deployed_tag = steps.new_tag
        # New classes get namespaces, deleted ones lose them: list again, but keep what is known
        # until then (a lost output relies on it to recover the history).
        memory.namespaces_stale = True
        run.worker_version = script.etag
        logger.info(
            "uploaded Worker %s%s",
            run.app.spec.worker_name,
            f" with migrations {steps.old_tag or '(none)'} -> {steps.new_tag}" if steps else "",
        )
    await sync_worker_secrets(run, kube)
    run.draft.set(
        WORKER_DEPLOYED,
        "True",
        "Uploaded",
        f"Worker {run.app.spec.worker_name} uploaded (migration tag {memory.deployed_tag or 'none'})",
    )


async def sync_worker_secrets(run: AppRun, kube: Kube) -> None:
    """Puts each declared Worker secret whose value changed since this process last put it, and
    deletes those the operator put before that no container declares any more. A missing Secret
    is skipped here; the container that declares it reports it."""
    assert run.account is not None
    script = run.app.spec.worker_name
    digests = run.memory.secret_digests
    try:
        if run.observe_cloudflare and set(run.worker_secrets) & set(digests):
            # A secret deleted outside the operator is put again (names only: values never leave).
            present = await run.account.secrets.list(script)
            for name in sorted(set(run.worker_secrets) & set(digests) - present):
                digests.pop(name)
                run.events.append(
                    (
                        "Warning",
                        "WorkerSecretDrifted",
                        f"Worker secret {name} was deleted outside the operator; put it again",
                    )
                )
        for name, ref in sorted(run.worker_secrets.items()):
            try:
                value = await kube.secret_value(run.record.namespace, ref.name, ref.key)
            except ReferenceMissing:
                continue
            digest = _digest(name, value)
            if digests.get(name) != digest:
                await run.account.secrets.put(script, name, value)
                digests[name] = digest
                run.memory.deleted_secrets.discard(name)
        undeclared = previous_worker_secrets(run) - set(run.worker_secrets) - run.memory.deleted_secrets
        for name in sorted(undeclared):
            await run.account.secrets.delete(script, name)
            digests.pop(name, None)
            run.memory.deleted_secrets.add(name)
    except CloudflareError as error:
        raise step_error(error) from None
    except KubeUnavailable as error:
        raise kube_step_error(error) from None


async def resolve_namespaces(run: AppRun) -> None:
    """The Durable Object namespace id of every rendered container class."""
    assert run.account is not None
    memory = run.memory
    classes = {r.names.class_name for r in run.rendered.values()}
    if memory.namespaces_stale or classes - set(memory.namespace_ids):
        try:
            memory.namespace_ids = await run.account.durable_objects.namespaces(run.app.spec.worker_name)
            memory.namespaces_stale = False
        except CloudflareError as error:
            raise step_error(error) from None
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
