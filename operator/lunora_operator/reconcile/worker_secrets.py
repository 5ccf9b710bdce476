"""The Worker secrets the containers declare: one value per name (a conflict stalls), put when
the value changed since this process last put it, deleted when no container declares it any
more. Names, never values, are recorded (in the output ConfigMap's annotation)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from lunora_operator.api.fields import SecretKeySelector
from lunora_operator.api.resources import LunoraContainer
from lunora_operator.kube.gateway import ConfigMapData, Kube, ReferenceMissing
from lunora_operator.reconcile.app_run import AppRun
from lunora_operator.reconcile.errors import Stalled

WORKER_SECRETS_ANNOTATION = "lunora.sh/worker-secrets"
"""Names (never values) of the Worker secrets the operator put, so it can delete those no longer declared."""


def digest(*parts: str | bytes) -> str:
    found = hashlib.sha256()
    for part in parts:
        found.update(part.encode() if isinstance(part, str) else part)
        found.update(b"\0")
    return found.hexdigest()


def declared_worker_secrets(members: Sequence[LunoraContainer]) -> dict[str, SecretKeySelector]:
    """Worker secret name -> the Secret key its value comes from; two sources for one name stall."""
    declared: dict[str, SecretKeySelector] = {}
    for member in members:
        for secret in member.spec.secrets or ():
            ref = secret.value_from.secret_key_ref
            known = declared.setdefault(secret.name, ref)
            if known != ref:
                raise Stalled(
                    "SecretConflict",
                    f'Worker secret "{secret.name}" comes from Secret {known.name} key {known.key} and from '
                    f"Secret {ref.name} key {ref.key} (LunoraContainer {member.metadata.name}); a Worker has one "
                    "value per secret name: use one Secret key or another name",
                )
    return declared


def recorded_worker_secrets(output: ConfigMapData | None) -> set[str]:
    """The names the output ConfigMap records as put by the operator."""
    names = output.annotations.get(WORKER_SECRETS_ANNOTATION, "") if output else ""
    return {name for name in names.split(",") if name}


async def _put_again_if_deleted_outside(run: AppRun) -> None:
    """A secret deleted outside the operator is put again (names only: values never leave)."""
    assert run.account is not None
    digests = run.memory.secret_digests
    if not (run.observe_cloudflare and set(run.worker_secrets) & set(digests)):
        return
    present = await run.account.secrets.list(run.app.spec.worker_name)
    for name in sorted(set(run.worker_secrets) & set(digests) - present):
        digests.pop(name)
        run.events.append(
            (
                "Warning",
                "WorkerSecretDrifted",
                f"Worker secret {name} was deleted outside the operator; put it again",
            )
        )


async def sync_worker_secrets(run: AppRun, kube: Kube) -> None:
    """A missing Secret is skipped here; the container that declares it reports it."""
    assert run.account is not None
    script = run.app.spec.worker_name
    digests = run.memory.secret_digests
    await _put_again_if_deleted_outside(run)
    for name, ref in sorted(run.worker_secrets.items()):
        try:
            value = await kube.secret_value(run.record.namespace, ref.name, ref.key)
        except ReferenceMissing:
            continue
        value_digest = digest(name, value)
        if digests.get(name) != value_digest:
            await run.account.secrets.put(script, name, value)
            digests[name] = value_digest
            run.memory.deleted_secrets.discard(name)
    undeclared = recorded_worker_secrets(run.output) - set(run.worker_secrets) - run.memory.deleted_secrets
    for name in sorted(undeclared):
        await run.account.secrets.delete(script, name)
        digests.pop(name, None)
        run.memory.deleted_secrets.add(name)
