"""Reconcile one LunoraContainer: validate → resolve app and Secrets → image → render (the app's
shared run) → Durable Object namespace → Containers application. Each step owns a condition."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.api.validation import ResourceInvalid
from lunora_operator.cloudflare import AccountClient, CloudflareError
from lunora_operator.kube.gateway import Kube, KubeUnavailable, ReferenceMissing
from lunora_operator.reconcile.app_render import container_names, invalid
from lunora_operator.reconcile.app_run import AppOutcome, Inventory, RenderedContainer
from lunora_operator.reconcile.application import application_spec
from lunora_operator.reconcile.cloudflare_edge import deploy_application, rollout_under_way, step_error
from lunora_operator.reconcile.conditions import (
    CONFIG_RENDERED,
    DEPLOYED,
    DURABLE_OBJECT_READY,
    IMAGE_READY,
)
from lunora_operator.reconcile.coordinator import AppCoordinator
from lunora_operator.reconcile.errors import StepError, Waiting, kube_step_error
from lunora_operator.reconcile.records import AppKey, ContainerRecord
from lunora_operator.reconcile.status import StatusDraft
from lunora_operator.reconcile.steps import Halt, Step, run_steps
from lunora_operator.reconcile.worker import declaring_tag

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedImage:
    reference: str
    """What the config names: the registry reference, or the pushed content-addressed tag."""
    digest: str | None = None
    pushed: bool = False


class ImageResolver(Protocol):
    """Turns a container's `image` into a reference Cloudflare can pull (builds and pushes when
    needed). Raises StepError."""

    async def resolve(
        self, container: LunoraContainer, app: LunoraApp, names: ContainerNames, account: AccountClient
    ) -> ResolvedImage: ...


@dataclass(frozen=True)
class ContainerDeps:
    kube: Kube
    inventory: Inventory
    images: ImageResolver
    coordinator_for: Callable[[AppKey], AppCoordinator]
    account_for: Callable[[LunoraApp, str], Awaitable[AccountClient]]
    """Raises StepError when the token cannot be had."""


@dataclass
class ContainerRun:
    record: ContainerRecord
    draft: StatusDraft
    resource: LunoraContainer | None = None
    app: LunoraApp | None = None
    names: ContainerNames | None = None
    coordinator: AppCoordinator | None = None
    account: AccountClient | None = None
    image: ResolvedImage | None = None
    outcome: AppOutcome | None = None
    rendered: RenderedContainer | None = None
    application_id: str | None = None
    suspended: bool = False
    error: StepError | None = None
    facts: dict[str, Any] = field(default_factory=dict)
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
    run.names = container_names(run.resource, run.app)
    run.coordinator = deps.coordinator_for(key)
    for index, secret in enumerate(run.resource.spec.secrets or ()):
        ref = secret.value_from.secret_key_ref
        try:
            await deps.kube.secret_value(run.record.namespace, ref.name, ref.key)
        except ReferenceMissing as missing:
            raise Waiting(
                "SecretNotFound",
                f"secrets[{index}] ({secret.name}): {missing}; create it and the container continues",
            ) from None
        except KubeUnavailable as error:
            raise kube_step_error(error) from None


async def image(run: ContainerRun, deps: ContainerDeps) -> None:
    assert run.resource is not None
    assert run.app is not None
    assert run.names is not None
    assert run.coordinator is not None
    if run.resource.spec.image.registry is not None:
        run.image = ResolvedImage(reference=run.resource.spec.image.registry)
        run.draft.set(IMAGE_READY, "True", "Resolved", f"registry image {run.image.reference}")
        return
    run.account = await deps.account_for(run.app, run.record.namespace)
    run.image = await deps.images.resolve(run.resource, run.app, run.names, run.account)
    run.coordinator.memory.image_refs[run.record.name] = run.image.reference
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


async def render(run: ContainerRun) -> None:
    assert run.coordinator is not None
    run.outcome = outcome = await run.coordinator.request()
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
    namespace_id = (
        run.outcome.namespace_ids.get(run.rendered.names.class_name) if run.outcome.error is None else None
    )
    if namespace_id is None:
        raise (
            _app_error(run.outcome)
            if run.outcome.error
            else Waiting(
                "NamespaceMissing", f"no Durable Object namespace for {run.rendered.names.class_name} yet"
            )
        )
    run.draft.set(
        DURABLE_OBJECT_READY,
        "True",
        "NamespaceFound",
        f"class {run.rendered.names.class_name}: namespace {namespace_id}",
    )


async def application(run: ContainerRun) -> None:
    outcome, rendered = run.outcome, run.rendered
    assert outcome is not None
    assert rendered is not None
    assert outcome.config is not None
    assert outcome.account is not None
    assert outcome.worker_name is not None
    desired = application_spec(rendered.entry, outcome.config, outcome.worker_name)
    namespace_id = outcome.namespace_ids[rendered.names.class_name]
    try:
        result = await deploy_application(outcome.account, desired, namespace_id)
    except CloudflareError as error:
        raise step_error(error) from None
    run.application_id = result.application_id
    if result.action == "RolloutHeld":
        run.draft.set(DEPLOYED, "True", "RolloutHeld", result.detail)
        return
    if result.action != "UpToDate":
        run.events.append(("Normal", result.action, result.detail))
    if result.rollout is not None:
        # Deployed means the application runs the desired configuration, not that a rollout began.
        raise rollout_under_way(desired.name, result.rollout)
    # The condition says what is, not what this pass did, so the next pass does not rewrite it.
    run.draft.set(DEPLOYED, "True", "Deployed", f"application {desired.name} ({result.application_id})")


def container_steps(deps: ContainerDeps) -> list[Step[ContainerRun]]:
    return [
        Step(None, validate),
        Step(None, lambda run: resolve(run, deps)),
        Step(IMAGE_READY, lambda run: image(run, deps)),
        Step(CONFIG_RENDERED, render),
        Step(DURABLE_OBJECT_READY, durable_object),
        Step(DEPLOYED, application),
    ]


def entry_hash(rendered: RenderedContainer) -> str:
    """Hash of what the config says about this one container: its entry and its binding."""
    described = {"entry": rendered.entry, "binding": [rendered.names.binding_name, rendered.names.class_name]}
    return "sha256:" + hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def facts(run: ContainerRun) -> dict[str, Any]:
    """Status fields besides conditions. Only facts this run learnt are written; the others
    keep what the last run said."""
    found: dict[str, Any] = {"mode": "cloudflare"}
    if run.names is not None:
        found["className"] = run.names.class_name
        found["bindingName"] = run.names.binding_name
    outcome = run.outcome
    if run.rendered is not None and outcome is not None and outcome.config is not None:
        desired = application_spec(run.rendered.entry, outcome.config, outcome.worker_name or "")
        found["applicationName"] = desired.name
        found["configHash"] = entry_hash(run.rendered)
        found["migrationTag"] = declaring_tag(outcome.config, run.rendered.names.class_name)
        found["instances"] = {"max": desired.max_instances}
    if run.image is not None:
        found["image"] = {
            "ref": run.image.reference,
            **({"digest": run.image.digest} if run.image.digest else {}),
        }
    if run.application_id is not None:
        found["applicationId"] = run.application_id
    return {key: value for key, value in found.items() if value is not None}


def ready_message(run: ContainerRun) -> str:
    if run.application_id is None or run.image is None:
        return ""
    return f"application {run.facts.get('applicationName')} ({run.application_id}) runs {run.image.reference}"


async def reconcile_container(record: ContainerRecord, deps: ContainerDeps) -> ContainerRun:
    """One pass. The caller writes `run.draft` (and `facts(run)`) as the status, unless suspended."""
    run = ContainerRun(record=record, draft=StatusDraft(record.generation))
    run.error = await run_steps(container_steps(deps), run, run.draft)
    if run.suspended:
        return run
    run.facts = facts(run)
    run.draft.facts.update(run.facts)
    run.draft.summarise(run.error, ready_message(run))
    return run
