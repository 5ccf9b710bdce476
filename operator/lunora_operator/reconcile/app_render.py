"""Steps of an app run that read its inputs and render its wrangler config into the output
ConfigMap (owns `ConfigRendered`)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from lunora_operator.api.app import CloudflareAccount
from lunora_operator.api.naming import ContainerNames, application_name, find_collisions
from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.api.validation import ResourceInvalid
from lunora_operator.cloudflare import AccountClient, CloudflareClients, CloudflareError
from lunora_operator.kube.gateway import Kube, KubeUnavailable, OwnerReference, ReferenceMissing
from lunora_operator.metrics import CONFIG_MAP_WRITES
from lunora_operator.planner import (
    DeployedMigrations,
    OwnedContainer,
    PlanError,
    PlanInput,
    RenderState,
    plan,
)
from lunora_operator.reconcile.app_run import AppRun, Inventory, RenderedContainer
from lunora_operator.reconcile.cloudflare_edge import OBSERVE_MAX_AGE, step_error
from lunora_operator.reconcile.conditions import CONFIG_RENDERED
from lunora_operator.reconcile.errors import Stalled, Waiting, kube_step_error
from lunora_operator.reconcile.records import AppKey
from lunora_operator.reconcile.worker import container_entry
from lunora_operator.wrangler.document import FILE_NAMES, open_document

GENERATED_TS_KEY = "containers.ts"
STATE_KEY = "lunora-render.json"
CONFIG_HASH_ANNOTATION = "lunora.sh/config-hash"
WORKER_SECRETS_ANNOTATION = "lunora.sh/worker-secrets"
"""Names (never values) of the Worker secrets the operator put, so it can delete those no longer declared."""
CONTAINERS_PLURAL = "lunoracontainers"

logger = logging.getLogger(__name__)


def config_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def invalid(kind: str, name: str, error: ResourceInvalid) -> Stalled:
    listed = "; ".join(str(e) for e in error.errors)
    return Stalled("InvalidSpec", f'{kind} "{name}" is invalid: {listed}')


def container_names(resource: LunoraContainer, app: LunoraApp) -> ContainerNames:
    return ContainerNames.derive(
        resource.metadata.name, resource.spec.export_name, app.spec.worker_name, resource.spec.name
    )


async def api_account(
    kube: Kube, cloudflare: CloudflareClients, app: LunoraApp, namespace: str
) -> AccountClient:
    """The API token from its Secret, and the account's client (one rate limiter per account)."""
    account = app.spec.cloudflare
    assert account is not None  # the CRD requires it in cloudflare mode
    ref = account.api_token_secret_ref
    try:
        token = await kube.secret_value(namespace, ref.name, ref.key)
    except ReferenceMissing as missing:
        raise Waiting("SecretNotFound", f"API token: {missing}; create it and the app continues") from None
    except KubeUnavailable as error:
        raise kube_step_error(error) from None
    return account_client(cloudflare, account, (namespace, app.metadata.name), token)


async def resolve_account(run: AppRun, kube: Kube, cloudflare: CloudflareClients) -> None:
    try:
        run.account = await api_account(kube, cloudflare, run.app, run.record.namespace)
    except Waiting:
        # A deletion under way finishes with the token it started with, even when its Secret
        # went first (kubectl delete -f, a namespace deletion); anything else waits for it.
        if not (run.memory.released and run.memory.account is not None):
            raise
        run.account = run.memory.account
    run.memory.account = run.account


def account_client(
    cloudflare: CloudflareClients, account: CloudflareAccount, app_key: AppKey, token: str
) -> AccountClient:
    """The account's client, held by the app (a rotated token closes the old client); a token
    it refuses (a blank one) stalls, naming the Secret."""
    try:
        return cloudflare.for_account(account.account_id, token, account.api_base_url, holder=app_key)
    except CloudflareError as error:
        namespace = app_key[0]
        ref = account.api_token_secret_ref
        raise Stalled(
            error.reason, f'API token in Secret "{namespace}/{ref.name}" key "{ref.key}": {error.message}'
        ) from None


async def read_inputs(run: AppRun, kube: Kube) -> None:
    """The base config, and the previous output with its render record."""
    namespace = run.record.namespace
    wrangler = run.app.spec.wrangler
    try:
        if wrangler.base is not None:
            base = await kube.config_map(namespace, wrangler.base.name)
            if base is None:
                raise ReferenceMissing("ConfigMap", namespace, wrangler.base.name)
            if wrangler.base.key not in base.data:
                raise ReferenceMissing("ConfigMap", namespace, wrangler.base.name, wrangler.base.key)
            run.base_text = base.data[wrangler.base.key]
        run.output = await kube.config_map(namespace, run.output_name)
    except ReferenceMissing as missing:
        raise Waiting("ConfigMapNotFound", f"base config: {missing}") from None
    except KubeUnavailable as error:
        raise kube_step_error(error) from None
    recorded = run.output.data.get(STATE_KEY) if run.output else None
    if recorded is not None:
        try:
            run.previous_state = RenderState.from_json(recorded)
        except ValueError as error:
            raise Stalled(
                "InvalidRenderRecord",
                f"ConfigMap {run.output_name} key {STATE_KEY} is not a render record ({error}); delete the "
                "key and the operator rebuilds it from Cloudflare",
            ) from None


async def observe_deployed(run: AppRun) -> None:
    """Cloudflare's migration tag and Durable Object namespaces for the Worker, when not known."""
    memory = run.memory
    if memory.deployed_known and not run.observe_cloudflare:
        return
    assert run.account is not None
    worker_name = run.app.spec.worker_name
    try:
        script = await run.account.scripts.observe(worker_name)
        memory.script_exists = script is not None
        if script is not None and memory.uploaded_etag not in (None, script.etag):
            # Someone deployed over the operator's upload (wrangler deploy, the dashboard).
            run.worker_drift = f"Worker {worker_name} was changed outside the operator"
            memory.uploaded_hash = memory.uploaded_etag = None
        memory.deployed_tag = script.migration_tag if script is not None else None
        memory.namespace_ids = await run.account.durable_objects.namespaces(worker_name) if script else {}
    except CloudflareError as error:
        raise step_error(error) from None
    memory.deployed_known = True


def _previous_entries(run: AppRun) -> dict[str, Mapping[str, Any]]:
    """Class name -> `containers[]` entry of the previous output."""
    output = run.output
    key = FILE_NAMES[run.app.spec.wrangler.format]
    if output is None or key not in output.data:
        return {}
    try:
        containers = open_document(output.data[key], run.app.spec.wrangler.format).get(["containers"])
    except Exception:  # an unreadable previous output only costs the fallback
        return {}
    return {
        str(entry["class_name"]): entry
        for entry in containers or []
        if isinstance(entry, Mapping) and "class_name" in entry
    }


def _previous_images(run: AppRun) -> dict[str, str]:
    """Class name -> image of every `containers[]` entry of the previous output."""
    return {
        class_name: str(entry["image"])
        for class_name, entry in _previous_entries(run).items()
        if "image" in entry
    }


async def finish_interrupted_deletions(run: AppRun, leaving: Sequence[OwnedContainer]) -> None:
    """A `deletionPolicy: Delete` container that left Kubernetes without its finalizer having
    run (the finalizer removed by hand, or the container deleted while no operator ran) may leave
    its application behind, and Cloudflare refuses to delete a Durable Object class whose
    namespace still serves one: delete the application as the policy declared, then the class."""
    if not leaving:
        return
    assert run.account is not None
    entries = _previous_entries(run)
    for owned in leaving:
        entry = entries.get(owned.class_name, {})
        explicit = entry.get("name")
        name = application_name(
            run.app.spec.worker_name, owned.class_name, str(explicit) if explicit else None
        )
        try:
            live = await run.account.applications.delete(name, max_age=OBSERVE_MAX_AGE)
        except CloudflareError as error:
            raise step_error(error) from None
        if live is None:
            continue
        logger.info(
            "deleted application %s (%s) of the departed LunoraContainer %s", name, live.id, owned.resource
        )
        run.events.append(
            (
                "Normal",
                "ApplicationDeleted",
                f"deleted application {name} ({live.id}): LunoraContainer {owned.resource} "
                "(deletionPolicy Delete) left without its finalizer deleting it",
            )
        )


async def _still_exists(kube: Kube, namespace: str, name: str) -> bool:
    try:
        return await kube.exists(CONTAINERS_PLURAL, namespace, name)
    except KubeUnavailable as error:
        raise kube_step_error(error) from None


async def select_members(
    run: AppRun, inventory: Inventory, kube: Kube
) -> tuple[list[LunoraContainer], dict[str, str], set[str]]:
    """The containers to render, the images of built ones (by export name), and the previously
    owned containers to keep exactly as they were because they exist but cannot be rendered now.

    A container that exists is never rendered as removed: removal follows only deletion.
    """
    app = run.app
    memory = run.memory
    previous_images = _previous_images(run)
    members: list[LunoraContainer] = []
    images: dict[str, str] = {}
    records = sorted(inventory.containers(run.record.key), key=lambda c: (c.created, c.name))
    for record in records:
        if record.deleting and record.name in memory.released:
            continue
        try:
            resource = record.resource()
        except ResourceInvalid as error:
            run.held[record.name] = invalid("LunoraContainer", record.name, error)
            continue
        if resource.spec.suspend:
            continue  # nothing changes while suspended: kept as last rendered, if it was
        names = container_names(resource, app)
        clashes = find_collisions([*(container_names(m, app) for m in members), names])
        if clashes:
            run.held[record.name] = Stalled("NameCollision", str(clashes[0]))
            continue
        if resource.spec.image.build is not None:
            image = (
                memory.image_refs.get(record.name)
                or record.status_image_ref
                or previous_images.get(names.class_name)
            )
            if image is None:
                run.held[record.name] = Waiting(
                    "ImageNotReady", "waiting for the image to be built and pushed"
                )
                continue
            images[names.export_name] = image
        members.append(resource)
    keep: set[str] = set()
    leaving: list[OwnedContainer] = []
    _declare_secrets(run, members)
    rendered = {m.metadata.name for m in members}
    present = {r.name for r in records if not (r.deleting and r.name in memory.released)}
    for owned in run.previous_state.containers if run.previous_state else ():
        if owned.resource in rendered:
            continue
        if owned.resource in present or (
            owned.resource not in {r.name for r in records}
            and await _still_exists(kube, run.record.namespace, owned.resource)
        ):
            keep.add(owned.resource)
            continue
        if owned.deletion_policy == "Delete" and owned.resource not in memory.released:
            leaving.append(owned)
    await finish_interrupted_deletions(run, leaving)
    return members, images, keep


def _declare_secrets(run: AppRun, members: list[LunoraContainer]) -> None:
    for member in members:
        for secret in member.spec.secrets or ():
            ref = secret.value_from.secret_key_ref
            known = run.worker_secrets.setdefault(secret.name, ref)
            if known != ref:
                raise Stalled(
                    "SecretConflict",
                    f'Worker secret "{secret.name}" comes from Secret {known.name} key {known.key} and from '
                    f"Secret {ref.name} key {ref.key} (LunoraContainer {member.metadata.name}); a Worker has one "
                    "value per secret name: use one Secret key or another name",
                )


def previous_worker_secrets(run: AppRun) -> set[str]:
    names = run.output.annotations.get(WORKER_SECRETS_ANNOTATION, "") if run.output else ""
    return {name for name in names.split(",") if name}


async def render_config(run: AppRun, inventory: Inventory, kube: Kube, flavour: str) -> None:
    members, images, keep = await select_members(run, inventory, kube)
    memory = run.memory
    deployed = (
        DeployedMigrations(tag=memory.deployed_tag, classes=frozenset(memory.namespace_ids))
        if memory.deployed_tag is not None
        else None
    )
    key = FILE_NAMES[run.app.spec.wrangler.format]
    try:
        result = plan(
            PlanInput(
                app_name=run.record.name,
                app=run.app,
                containers=members,
                base_text=run.base_text,
                format=run.app.spec.wrangler.format,
                previous_config_text=run.output.data.get(key) if run.output else None,
                previous_state=run.previous_state,
                held=frozenset(keep),
                images=images,
                flavour=flavour,  # type: ignore[arg-type]
                base_name=_base_name(run),
                previous_name=f"ConfigMap {run.output_name} key {key}",
                deployed_migrations=deployed,
            )
        )
    except PlanError as error:
        raise Stalled("RenderConflict", "; ".join(error.problems)) from None
    # A container held with nothing to carry (its last output is lost too) would vanish from the
    # config and, deployed, take its Durable Object's container with it: wait for it instead.
    lost = sorted(
        owned.resource
        for owned in result.state.containers
        if container_entry(result.config, owned.class_name) is None
    )
    if lost:
        raise Waiting(
            "ContainerPending",
            f"LunoraContainer {', '.join(lost)} cannot be rendered yet and its last rendered entry is gone; "
            "the config is published once it can be",
        )
    run.plan = result
    run.config_hash = config_hash(result.config_text)
    for member in members:
        names = container_names(member, run.app)
        entry = container_entry(result.config, names.class_name)
        if entry is not None:
            run.rendered[member.metadata.name] = RenderedContainer(member.metadata.name, names, entry)
    await _publish(run, kube)
    # The planner's warnings (container logs switched off) are the user's to see, in the status.
    warnings = "".join(f"; warning: {warning}" for warning in result.warnings)
    run.draft.set(
        CONFIG_RENDERED,
        "True",
        "Rendered",
        f"{len(run.rendered)} container(s) rendered into ConfigMap {run.output_name}{warnings}",
    )


def _base_name(run: AppRun) -> str:
    base = run.app.spec.wrangler.base
    return f"ConfigMap {base.name} key {base.key}" if base else "the empty base config"


def _owner(run: AppRun) -> OwnerReference:
    return OwnerReference(
        api_version="lunora.sh/v1alpha1", kind="LunoraApp", name=run.record.name, uid=run.record.uid
    )


async def _publish(run: AppRun, kube: Kube) -> None:
    """Writes the output ConfigMap, only when its content changed."""
    assert run.plan is not None
    assert run.config_hash is not None
    data = {
        FILE_NAMES[run.app.spec.wrangler.format]: run.plan.config_text,
        STATE_KEY: run.plan.state.to_json(),
    }
    if run.plan.generated_ts is not None:
        data[GENERATED_TS_KEY] = run.plan.generated_ts
    previous = run.output
    annotations = dict(previous.annotations) if previous else {}
    annotations[CONFIG_HASH_ANNOTATION] = run.config_hash
    # A name stays listed until its deletion succeeded, so a failed delete is tried again.
    undeleted = previous_worker_secrets(run) - run.memory.deleted_secrets
    annotations[WORKER_SECRETS_ANNOTATION] = ",".join(sorted(set(run.worker_secrets) | undeleted))
    if previous is not None and previous.data == data and previous.annotations == annotations:
        return
    try:
        await kube.write_config_map(
            run.record.namespace,
            run.output_name,
            data,
            annotations,
            _owner(run),
            previous.resource_version if previous else None,
        )
    except KubeUnavailable as error:
        raise kube_step_error(error) from None
    CONFIG_MAP_WRITES.inc()
    logger.info("wrote ConfigMap %s/%s (%s)", run.record.namespace, run.output_name, run.config_hash[:19])
    for warning in run.plan.warnings:
        logger.warning("LunoraApp %s/%s: %s", run.record.namespace, run.record.name, warning)
