"""The state of one run of an app's shared work, and what the operator remembers between runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lunora_operator.api.fields import SecretKeySelector
from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraApp
from lunora_operator.cloudflare import AccountClient
from lunora_operator.kube.gateway import ConfigMapData
from lunora_operator.planner import Plan, RenderState
from lunora_operator.reconcile.errors import StepError
from lunora_operator.reconcile.membership import Membership
from lunora_operator.reconcile.records import AppRecord
from lunora_operator.reconcile.status import StatusDraft


@dataclass
class AppMemory:
    """What the operator remembers about one app between runs. Lost on restart by design: each
    fact is learnt again from Kubernetes or Cloudflare, at the cost of one extra call."""

    app_uid: str | None = None
    """The LunoraApp this memory is about; a new app under the same name starts afresh."""
    account: AccountClient | None = None
    """The last account client the app's token gave: deletions can still clean up on Cloudflare
    when the token Secret went first (kubectl delete -f, a namespace deletion)."""
    image_refs: dict[str, str] = field(default_factory=dict)
    """Container name -> the image reference its last reconcile resolved."""
    released: set[str] = field(default_factory=set)
    """Containers being deleted whose Cloudflare application is gone: they leave the config."""
    deployed_known: bool = False
    """Whether the fields below were read from Cloudflare since the process started."""
    script_exists: bool = False
    deployed_tag: str | None = None
    """The Worker's migration tag on Cloudflare (None: no Worker, or no migrations yet)."""
    namespace_ids: dict[str, str] = field(default_factory=dict)
    """Durable Object class -> namespace id, for this Worker."""
    namespaces_stale: bool = False
    """An upload since the last listing may have added or removed namespaces."""
    uploaded_hash: str | None = None
    """Config hash of the last Worker upload this process made."""
    uploaded_etag: str | None = None
    """Cloudflare's etag of that upload: another etag on the script means it was changed outside."""
    secret_digests: dict[str, str] = field(default_factory=dict)
    """Worker secret name -> digest of the value this process last put (never the value)."""
    deleted_secrets: set[str] = field(default_factory=set)
    """Worker secrets this process deleted; the output annotation stops listing them."""


@dataclass(frozen=True)
class RenderedContainer:
    """One container as the rendered config describes it."""

    name: str
    names: ContainerNames
    entry: Mapping[str, Any]
    """Its `containers[]` entry in the rendered config."""


@dataclass
class AppRun:
    """One run: the inputs read, what was rendered, and the draft of the app's status."""

    record: AppRecord
    app: LunoraApp
    memory: AppMemory
    observe_cloudflare: bool
    draft: StatusDraft
    account: AccountClient | None = None
    base_text: str | None = None
    output: ConfigMapData | None = None
    previous_state: RenderState | None = None
    previous_entries: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    """Class name -> its `containers[]` entry in the previous output."""
    membership: Membership | None = None
    plan: Plan | None = None
    config_hash: str | None = None
    rendered: dict[str, RenderedContainer] = field(default_factory=dict)
    held: dict[str, StepError] = field(default_factory=dict)
    worker_secrets: dict[str, SecretKeySelector] = field(default_factory=dict)
    """Worker secret name -> the Secret key its value comes from (the containers' `secrets`)."""
    worker_etag: str | None = None
    """Cloudflare's etag of the Worker this run uploaded."""
    worker_drift: str | None = None
    """Why the Worker is uploaded again although its inputs did not change (changed outside)."""
    events: list[tuple[str, str, str]] = field(default_factory=list)
    """(type, reason, message) of what this run changed on Cloudflare, posted on the app."""

    @property
    def output_name(self) -> str:
        return self.app.spec.wrangler.output_config_map or f"{self.record.name}-wrangler"


@dataclass(frozen=True)
class AppOutcome:
    """What one run produced; the app's status and every container of the app read it."""

    draft: StatusDraft
    error: StepError | None = None
    suspended: bool = False
    worker_name: str | None = None
    config: Mapping[str, Any] | None = None
    config_hash: str | None = None
    migration_tag: str | None = None
    output_config_map: str | None = None
    rendered: Mapping[str, RenderedContainer] = field(default_factory=dict)
    held: Mapping[str, StepError] = field(default_factory=dict)
    account: AccountClient | None = None
    worker_etag: str | None = None
    namespace_ids: Mapping[str, str] = field(default_factory=dict)
    events: Sequence[tuple[str, str, str]] = ()

    @classmethod
    def of(cls, run: AppRun, error: StepError | None) -> AppOutcome:
        return cls(
            draft=run.draft,
            error=error,
            worker_name=run.app.spec.worker_name,
            config=run.plan.config if run.plan else None,
            config_hash=run.config_hash,
            migration_tag=run.plan.migration_tag if run.plan else None,
            output_config_map=run.output_name,
            rendered=dict(run.rendered),
            held=dict(run.held),
            account=run.account,
            worker_etag=run.worker_etag,
            namespace_ids=dict(run.memory.namespace_ids),
            events=tuple(run.events),
        )
