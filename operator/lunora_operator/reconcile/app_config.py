"""The app-run step that renders the wrangler config from the members with the offline planner
(the same code and words as `lunora-operator render`) and publishes it (owns `ConfigRendered`)."""

from __future__ import annotations

import hashlib

from lunora_operator.kube.gateway import Kube
from lunora_operator.planner import DeployedMigrations, Plan, PlanError, PlanInput, plan
from lunora_operator.reconcile.app_run import AppRun, RenderedContainer
from lunora_operator.reconcile.conditions import CONFIG_RENDERED
from lunora_operator.reconcile.errors import Stalled, Waiting
from lunora_operator.reconcile.publish import publish
from lunora_operator.wrangler.document import FILE_NAMES
from lunora_operator.wrangler.worker_upload import container_entry


def config_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _plan(run: AppRun, flavour: str) -> Plan:
    assert run.membership is not None
    memory = run.memory
    deployed = (
        DeployedMigrations(tag=memory.deployed_tag, classes=frozenset(memory.namespace_ids))
        if memory.deployed_tag is not None
        else None
    )
    wrangler = run.app.spec.wrangler
    key = FILE_NAMES[wrangler.format]
    try:
        return plan(
            PlanInput(
                app_name=run.record.name,
                app=run.app,
                containers=run.membership.members,
                base_text=run.base_text,
                format=wrangler.format,
                previous_config_text=run.output.data.get(key) if run.output else None,
                previous_state=run.previous_state,
                held=run.membership.keep,
                images=run.membership.images,
                flavour=flavour,  # type: ignore[arg-type]
                base_name=f"ConfigMap {wrangler.base.name} key {wrangler.base.key}"
                if wrangler.base
                else "the empty base config",
                previous_name=f"ConfigMap {run.output_name} key {key}",
                deployed_migrations=deployed,
            )
        )
    except PlanError as error:
        raise Stalled("RenderConflict", "; ".join(error.problems)) from None


async def render_config(run: AppRun, kube: Kube, flavour: str) -> None:
    assert run.membership is not None
    result = _plan(run, flavour)
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
    for member in run.membership.members:
        names = member.names_in(run.app)
        entry = container_entry(result.config, names.class_name)
        if entry is not None:
            run.rendered[member.metadata.name] = RenderedContainer(member.metadata.name, names, entry)
    await publish(run, kube)
    # The planner's warnings (container logs switched off) are the user's to see, in the status.
    warnings = "".join(f"; warning: {warning}" for warning in result.warnings)
    run.draft.set(
        CONFIG_RENDERED,
        "True",
        "Rendered",
        f"{len(run.rendered)} container(s) rendered into ConfigMap {run.output_name}{warnings}",
    )
