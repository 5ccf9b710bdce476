"""A LunoraApp's status facts from one run of its pipeline (typed; conditions come from the
run's draft). What the run did not learn keeps what the last run said."""

from __future__ import annotations

from typing import Any

from lunora_operator.api.status import AppContainerStatus, LunoraAppStatus
from lunora_operator.reconcile.app_run import AppOutcome

STATUS_LIST_LIMIT = 256
"""The most entries `containers` / `durableObjectNamespaceIds` may hold (the CRD's bound);
`containerCount` still counts them all."""


def app_facts(outcome: AppOutcome, previous: LunoraAppStatus) -> LunoraAppStatus:
    learnt: dict[str, Any] = {"mode": "cloudflare"}
    if outcome.config_hash is not None:
        rendered = sorted(outcome.rendered.values(), key=lambda r: r.name)
        listed = rendered[:STATUS_LIST_LIMIT]
        classes = {r.names.class_name for r in listed}
        ids = {name: value for name, value in outcome.namespace_ids.items() if name in classes}
        learnt.update(
            containers=[
                AppContainerStatus(
                    name=r.name, class_name=r.names.class_name, binding_name=r.names.binding_name
                )
                for r in listed
            ],
            container_count=len(rendered),
            migration_tag=outcome.migration_tag,
            config_hash=outcome.config_hash,
            output_config_map=outcome.output_config_map,
            durable_object_namespace_ids=ids or None,
        )
    if outcome.worker_etag is not None:
        # workerVersionId is the same etag under its old name, for tools that still read it.
        learnt.update(worker_etag=outcome.worker_etag, worker_version_id=outcome.worker_etag)
    elif previous.worker_etag is None and previous.worker_version_id is not None:
        learnt.update(worker_etag=previous.worker_version_id)  # written by an operator before the rename
    return previous.model_copy(update=learnt)


def app_ready_message(outcome: AppOutcome) -> str:
    return f"{len(outcome.rendered)} container(s) rendered; config {outcome.config_hash}"
