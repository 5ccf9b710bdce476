"""Writes an app's output ConfigMap (owned by the app): the rendered wrangler config, the
generated TypeScript and the render record, only when its content changed."""

from __future__ import annotations

import logging

from lunora_operator.kube.gateway import Kube, OwnerReference
from lunora_operator.metrics import CONFIG_MAP_WRITES
from lunora_operator.planner import STATE_FILE
from lunora_operator.reconcile.app_run import AppRun
from lunora_operator.reconcile.worker_secrets import WORKER_SECRETS_ANNOTATION, recorded_worker_secrets
from lunora_operator.wrangler.document import FILE_NAMES

GENERATED_TS_KEY = "containers.ts"
CONFIG_HASH_ANNOTATION = "lunora.sh/config-hash"

logger = logging.getLogger(__name__)


def _owner(run: AppRun) -> OwnerReference:
    return OwnerReference(
        api_version="lunora.sh/v1alpha1", kind="LunoraApp", name=run.record.name, uid=run.record.uid
    )


async def publish(run: AppRun, kube: Kube) -> None:
    assert run.plan is not None
    assert run.config_hash is not None
    data = {
        FILE_NAMES[run.app.spec.wrangler.format]: run.plan.config_text,
        STATE_FILE: run.plan.state.to_json(),
    }
    if run.plan.generated_ts is not None:
        data[GENERATED_TS_KEY] = run.plan.generated_ts
    previous = run.output
    annotations = dict(previous.annotations) if previous else {}
    annotations[CONFIG_HASH_ANNOTATION] = run.config_hash
    # A name stays listed until its deletion succeeded, so a failed delete is tried again.
    undeleted = recorded_worker_secrets(previous) - run.memory.deleted_secrets
    annotations[WORKER_SECRETS_ANNOTATION] = ",".join(sorted(set(run.worker_secrets) | undeleted))
    if previous is not None and previous.data == data and previous.annotations == annotations:
        return
    await kube.write_config_map(
        run.record.namespace,
        run.output_name,
        data,
        annotations,
        _owner(run),
        previous.resource_version if previous else None,
    )
    CONFIG_MAP_WRITES.inc()
    logger.info("wrote ConfigMap %s/%s (%s)", run.record.namespace, run.output_name, run.config_hash[:19])
    for warning in run.plan.warnings:
        logger.warning("LunoraApp %s/%s: %s", run.record.namespace, run.record.name, warning)
