"""One app's shared work, run for all its containers at once: resolve the account, read the
inputs, decide the members, delete what departed containers left, render the config into the
output ConfigMap, put the Worker on Cloudflare, find the Durable Object namespaces."""

from __future__ import annotations

from lunora_operator.api.validation import ResourceInvalid
from lunora_operator.cloudflare import CloudflareClients
from lunora_operator.kube.gateway import Kube
from lunora_operator.reconcile.accounts import app_account
from lunora_operator.reconcile.app_config import render_config
from lunora_operator.reconcile.app_inputs import read_inputs
from lunora_operator.reconcile.app_run import AppMemory, AppOutcome, AppRun
from lunora_operator.reconcile.app_worker import deploy_worker, resolve_namespaces
from lunora_operator.reconcile.conditions import (
    CLEANED_UP,
    CONFIG_RENDERED,
    DURABLE_OBJECT_READY,
    WORKER_DEPLOYED,
)
from lunora_operator.reconcile.departed import delete_departed
from lunora_operator.reconcile.errors import Stalled, Waiting, invalid
from lunora_operator.reconcile.membership import membership, membership_facts
from lunora_operator.reconcile.records import AppKey, Inventory
from lunora_operator.reconcile.status import StatusDraft
from lunora_operator.reconcile.steps import Step, run_steps
from lunora_operator.reconcile.worker_observe import observe_worker
from lunora_operator.reconcile.worker_secrets import declared_worker_secrets


class AppPipeline:
    def __init__(
        self, kube: Kube, cloudflare: CloudflareClients, inventory: Inventory, flavour: str = "lunora"
    ) -> None:
        self.kube = kube
        self.cloudflare = cloudflare
        self.inventory = inventory
        self.flavour = flavour

    async def _account(self, run: AppRun) -> None:
        try:
            run.account = await app_account(self.kube, self.cloudflare, run.app)
        except Waiting:
            # A deletion under way finishes with the token it started with, even when its Secret
            # went first (kubectl delete -f, a namespace deletion); anything else waits for it.
            if not (run.memory.released and run.memory.account is not None):
                raise
            run.account = run.memory.account
        run.memory.account = run.account

    async def _members(self, run: AppRun) -> None:
        previous_images = {
            class_name: str(entry["image"])
            for class_name, entry in run.previous_entries.items()
            if "image" in entry
        }
        facts = await membership_facts(
            run.record.key,
            self.inventory,
            self.kube,
            run.previous_state,
            previous_images,
            run.memory.image_refs,
            run.memory.released,
        )
        run.membership = membership(run.app, facts)
        run.held = dict(run.membership.held)
        run.worker_secrets = declared_worker_secrets(run.membership.members)

    async def _render(self, run: AppRun) -> None:
        await observe_worker(run)
        await render_config(run, self.kube, self.flavour)

    def steps(self) -> list[Step[AppRun]]:
        return [
            Step(None, self._account),
            Step(None, lambda run: read_inputs(run, self.kube)),
            Step(CONFIG_RENDERED, self._members),  # who is in the config is part of rendering it
            Step(CLEANED_UP, delete_departed),
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
