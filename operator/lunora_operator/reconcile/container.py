"""Reconcile one LunoraContainer: validate → resolve app and Secrets → image → config (the app's
shared run) → Durable Object namespace → Containers application. Each step owns a condition."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.api.status import EgressStatus, InstancesStatus
from lunora_operator.api.validation import ResourceInvalid
from lunora_operator.cloudflare import AccountClient, Application, CloudflareClients
from lunora_operator.images.reference import ForeignImage, container_registry
from lunora_operator.kube.gateway import Kube, ReferenceMissing
from lunora_operator.reconcile.accounts import app_account
from lunora_operator.reconcile.app_renders import AppRenders
from lunora_operator.reconcile.app_run import AppOutcome, RenderedContainer
from lunora_operator.reconcile.application_apply import apply_application, rollout_held, rollout_under_way
from lunora_operator.reconcile.conditions import CONFIG_RENDERED, DEPLOYED, DURABLE_OBJECT_READY, IMAGE_READY
from lunora_operator.reconcile.errors import Stalled, StepError, Waiting, invalid
from lunora_operator.reconcile.records import ContainerRecord, Inventory
from lunora_operator.reconcile.status import StatusDraft
from lunora_operator.reconcile.steps import Halt, Step, run_steps
from lunora_operator.wrangler.application import application_spec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedImage:
    reference: str
    """What the config names: the registry reference, or the pushed content-addressed tag."""
    digest: str | None = None
    pushed: bool = False


class ImageResolver(Protocol):
    """Turns a container's `image` into a reference Cloudflare can pull (builds and pushes when
    needed)."""

    async def resolve(
        self, container: LunoraContainer, app: LunoraApp, names: ContainerNames, account: AccountClient
    ) -> ResolvedImage: ...


@dataclass(frozen=True)
class ContainerDeps:
    kube: Kube
    cloudflare: CloudflareClients
    inventory: Inventory
    images: ImageResolver
    renders: AppRenders


@dataclass
class ContainerRun:
    record: ContainerRecord
    draft: StatusDraft
    resource: LunoraContainer | None = None
    app: LunoraApp | None = None
    names: ContainerNames | None = None
    image: ResolvedImage | None = None
    outcome: AppOutcome | None = None
    rendered: RenderedContainer | None = None
    application: Application | None = None
    """The container's application as Cloudflare has it after this pass."""
    changed_application: bool = False
    """Whether this pass created or updated the application."""
    instances: InstancesStatus | None = None
    """Local mode: the container's instance Pods by state."""
    egress: EgressStatus | None = None
    """Local mode: its instances' egress decisions, when the router told them this pass."""
    suspended: bool = False
    error: StepError | None = None
    events: list[tuple[str, str, str]] = field(default_factory=list)
    """(type, reason, message) of what this pass changed on Cloudflare, posted as Events."""


async def validate(run: ContainerRun) -> None:
    try:
        run.resource = run.record.resource()
    except ResourceInvalid as error:
        raise invalid("LunoraContainer", run.record.name, error) from None


async def resolve(run: ContainerRun, deps: ContainerDeps) -> None:
    """The app it belongs to, and every Secret its `secrets` name."""
    assert run.resource is not None
    key = run.record.app_key
    app_record = deps.inventory.app(key)
    if app_record is None:
        raise Waiting("AppNotFound", f'LunoraApp "{key[1]}" not found in namespace {key[0]}')
    try:
        run.app = app_record.resource()
    except ResourceInvalid:
        raise Waiting("AppNotReady", f'LunoraApp "{key[1]}" is invalid; see its status') from None
    if run.app.spec.suspend or run.resource.spec.suspend:
        run.suspended = True
        raise Halt
    run.names = run.resource.names_in(run.app)
    for index, secret in enumerate(run.resource.spec.secrets or ()):
        ref = secret.value_from.secret_key_ref
        try:
            await deps.kube.secret_value(run.record.namespace, ref.name, ref.key)
        except ReferenceMissing as missing:
            raise Waiting(
                "SecretNotFound",
                f"secrets[{index}] ({secret.name}): {missing}; create it and the container continues",
            ) from None


async def image(run: ContainerRun, deps: ContainerDeps) -> None:
    assert run.resource is not None
    assert run.app is not None
    assert run.names is not None
    if run.resource.spec.image.registry is not None:
        run.image = ResolvedImage(reference=run.resource.spec.image.registry)
        run.draft.set(IMAGE_READY, "True", "Resolved", f"registry image {run.image.reference}")
        return
    account = await app_account(deps.kube, deps.cloudflare, run.app)
    run.image = await deps.images.resolve(run.resource, run.app, run.names, account)
    deps.renders.note_image(run.record.app_key, run.record.name, run.image.reference)
    if run.image.pushed:
        run.events.append(
            ("Normal", "Pushed", f"built and pushed {run.image.reference} ({run.image.digest})")
        )
    # What is, not what this pass did: an unchanged image must not rewrite the status.
    run.draft.set(IMAGE_READY, "True", "Pushed", f"{run.image.reference} ({run.image.digest})")


def _app_error(outcome: AppOutcome) -> StepError:
    error = outcome.error
    assert error is not None
    # The app's own words, so a conflict in the base config reads the same everywhere.
    return type(error)(error.reason, f"LunoraApp: {error.message}", error.retry_after)


async def config(run: ContainerRun, deps: ContainerDeps) -> None:
    """The app's render carries this container's entry with its image."""
    run.outcome = outcome = await deps.renders.request(run.record.app_key)
    name = run.record.name
    if name in outcome.held:
        raise outcome.held[name]
    if outcome.suspended:
        run.suspended = True
        raise Halt
    rendered = outcome.rendered.get(name)
    if rendered is None:
        raise (
            _app_error(outcome) if outcome.error else Waiting("NotRendered", "not in the rendered config yet")
        )
    assert run.image is not None
    if rendered.entry.get("image") != run.image.reference:
        raise Waiting("RenderPending", "the rendered config does not carry the new image yet")
    run.rendered = rendered
    # Its own entry, not the app's whole config: a neighbour's change must not rewrite this status.
    run.draft.set(
        CONFIG_RENDERED,
        "True",
        "Rendered",
        f"containers/{rendered.names.class_name} in ConfigMap {outcome.output_config_map}",
    )


async def durable_object(run: ContainerRun) -> None:
    assert run.outcome is not None
    assert run.rendered is not None
    class_name = run.rendered.names.class_name
    # Known namespaces hold even when a later step of the app failed (a migration waiting for
    # `wrangler deploy`); before that, the app's error is what this container waits for.
    usable = run.outcome.error is None or run.outcome.namespaces_resolved
    namespace_id = run.outcome.namespace_ids.get(class_name) if usable else None
    if namespace_id is None:
        raise (
            _app_error(run.outcome)
            if run.outcome.error
            else Waiting("NamespaceMissing", f"no Durable Object namespace for {class_name} yet")
        )
    run.draft.set(
        DURABLE_OBJECT_READY, "True", "NamespaceFound", f"class {class_name}: namespace {namespace_id}"
    )


async def application(run: ContainerRun) -> None:
    outcome, rendered = run.outcome, run.rendered
    assert outcome is not None
    assert rendered is not None
    assert outcome.config is not None
    assert outcome.account is not None
    assert outcome.worker_name is not None
    assert run.app is not None
    assert run.app.spec.cloudflare is not None
    try:
        desired = application_spec(
            rendered.entry,
            outcome.config,
            outcome.worker_name,
            outcome.account.account_id,
            container_registry(run.app.spec.cloudflare.registry),
        )
    except ForeignImage as error:
        raise Stalled("ImageNotInAccount", str(error).replace("\n", "; ")) from None
    namespace_id = outcome.namespace_ids[rendered.names.class_name]
    result = await apply_application(outcome.account, desired, namespace_id)
    run.application = result.application
    run.changed_application = result.changed
    if result.changed:
        logger.info("LunoraContainer %s/%s: %s", run.record.namespace, run.record.name, result.detail)
        run.events.append(("Normal", result.action, result.detail))
    if result.held is not None:
        # The application runs its previous configuration until a person rolls the change out.
        raise rollout_held(result.held)
    if result.rollout is not None:
        # Deployed means the application runs the desired configuration, not that a rollout began.
        raise rollout_under_way(desired.name, result.rollout)
    # The condition says what is, not what this pass did, so the next pass does not rewrite it.
    run.draft.set(DEPLOYED, "True", "Deployed", f"application {desired.name} ({result.application.id})")


def container_steps(deps: ContainerDeps) -> list[Step[ContainerRun]]:
    return [
        Step(None, validate),
        Step(None, lambda run: resolve(run, deps)),
        Step(IMAGE_READY, lambda run: image(run, deps)),
        Step(CONFIG_RENDERED, lambda run: config(run, deps)),
        Step(DURABLE_OBJECT_READY, durable_object),
        Step(DEPLOYED, application),
    ]


def ready_message(run: ContainerRun) -> str:
    live = run.application
    return f"application {live.name} ({live.id}) runs {live.image}" if live is not None else ""


async def reconcile_container(record: ContainerRecord, deps: ContainerDeps) -> ContainerRun:
    """One pass of the steps, summarised into `Ready`. The caller writes the status from the
    run, unless suspended."""
    run = ContainerRun(record=record, draft=StatusDraft(record.generation))
    run.error = await run_steps(container_steps(deps), run, run.draft)
    run.draft.summarise(run.error, ready_message(run))
    return run
