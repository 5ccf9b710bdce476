"""One app's shared work, run for all its containers at once: resolve the account, read the
inputs, render the config into the output ConfigMap, put the Worker on Cloudflare, find the
Durable Object namespaces."""

from __future__ import annotations

from lunora_operator.api.validation import ResourceInvalid
from lunora_operator.cloudflare import CloudflareClients
from lunora_operator.kube.gateway import Kube
from lunora_operator.reconcile.app_render import (
    invalid,
    observe_deployed,
    read_inputs,
    render_config,
    resolve_account,
)
from lunora_operator.reconcile.app_run import AppMemory, AppOutcome, AppRun, Inventory
from lunora_operator.reconcile.app_worker import deploy_worker, resolve_namespaces
from lunora_operator.reconcile.conditions import CONFIG_RENDERED, DURABLE_OBJECT_READY, WORKER_DEPLOYED
from lunora_operator.reconcile.errors import Stalled, Waiting
from lunora_operator.reconcile.records import AppKey
from lunora_operator.reconcile.status import StatusDraft
from lunora_operator.reconcile.steps import Step, run_steps


class AppPipeline:
    def __init__(
        self, kube: Kube, cloudflare: CloudflareClients, inventory: Inventory, flavour: str = "lunora"
    ) -> None:
        self.kube = kube
        self.cloudflare = cloudflare
        self.inventory = inventory
        self.flavour = flavour

    async def _render(self, run: AppRun) -> None:
        await observe_deployed(run)
        await render_config(run, self.inventory, self.kube, self.flavour)

    def steps(self) -> list[Step[AppRun]]:
        return [
            Step(None, lambda run: resolve_account(run, self.kube, self.cloudflare)),
            Step(None, lambda run: read_inputs(run, self.kube)),
            Step(CONFIG_RENDERED, self._render),
            Step(WORKER_DEPLOYED, lambda run: deploy_worker(run, self.kube)),
            Step(DURABLE_OBJECT_READY, resolve_namespaces),
        ]

    async def run(self, key: AppKey, memory: AppMemory, observe_cloudflare: bool = False) -> AppOutcome:
        record = self.inventory.app(key)
        if record is None:
            missing = Waiting("AppNotFound", f'LunoraApp "{key[1]}" not found in namespace {key[0]}')
            return AppOutcome(draft=StatusDraft(None), error=missing)
        draft = StatusDraft(record.generation)
        try:
            app = record.resource()
        except ResourceInvalid as problem:
            return AppOutcome(draft=draft, error=invalid("LunoraApp", record.name, problem))
        if app.spec.suspend:
            return AppOutcome(draft=draft, suspended=True, worker_name=app.spec.worker_name)
        if app.spec.mode != "cloudflare":
            unsupported = Stalled(
                "ModeNotSupported",
                f'mode "{app.spec.mode}" is not available in this version of the operator; use cloudflare',
            )
            return AppOutcome(draft=draft, error=unsupported, worker_name=app.spec.worker_name)
        run = AppRun(
            record=record, app=app, memory=memory, observe_cloudflare=observe_cloudflare, draft=draft
        )
        error = await run_steps(self.steps(), run, draft)
        return AppOutcome.of(run, error)
