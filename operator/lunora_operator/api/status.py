"""Status of both resources: the kstatus condition contract plus the facts users ask about."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from lunora_operator.api.base import ApiModel

ConditionStatus = Literal["True", "False", "Unknown"]
# Timestamps arrive as RFC 3339 strings; strict mode would refuse to parse them.
Timestamp = Annotated[datetime, Field(strict=False)]
RECENTLY_DENIED = 10
"""How many refused hosts a container's status.egress names."""
MAX_HOST = 253


class Condition(ApiModel):
    """A metav1.Condition."""

    type: Annotated[
        str,
        Field(
            min_length=1,
            max_length=316,
            pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        ),
    ]
    """CamelCase condition type, such as Ready, Reconciling or Stalled."""
    status: ConditionStatus
    """True, False or Unknown."""
    reason: Annotated[
        str, Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    ]
    """CamelCase reason for the last transition."""
    message: Annotated[str, Field(max_length=32768)] = ""
    """Human-readable detail of the transition."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The metadata.generation the condition was set for."""
    last_transition_time: Timestamp
    """When the status last changed."""


Conditions = Annotated[
    list[Condition],
    Field(
        max_length=32,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    ),
]


class ImageStatus(ApiModel):
    ref: Annotated[str, Field(max_length=1024)] | None = None
    """The image the instances run (cloudflare: the application's configuration on Cloudflare,
    which a held or reverted rollout keeps at an earlier image than the spec's)."""
    digest: Annotated[str, Field(max_length=128)] | None = None
    """Manifest digest, sha256:…, when the operator pushed that image."""


class InstancesStatus(ApiModel):
    max: int | None = None
    """The most instances allowed (cloudflare: the application's max_instances on Cloudflare;
    local: maxInstances, 20 when unset)."""
    running: int | None = None
    """Running instances (local: instance Pods whose process runs; cloudflare: as Cloudflare
    reports them, absent when it does not)."""
    starting: int | None = None
    """Local: instance Pods created whose process does not run yet (scheduling, pulling)."""
    stopping: int | None = None
    """Local: instance Pods being deleted (sleepAfter, hardTimeout, stop())."""
    stopped: int | None = None
    """Local: runs whose process ended; their Pods stay for `kubectl logs` until the id starts again."""
    selector: Annotated[str, Field(max_length=1024)] | None = None
    """Label selector of the local-mode instance Pods; absent in cloudflare mode."""


class EgressStatus(ApiModel):
    """Local mode: what the app's egress proxy decided for the container's running instances
    (an instance's counts go with its Pod)."""

    allowed: int | None = None
    """Requests out the proxy let through."""
    denied: int | None = None
    """Requests out the proxy refused."""
    instances: int | None = None
    """Running instances that have made a request out."""
    recently_denied: (
        Annotated[list[Annotated[str, Field(max_length=MAX_HOST)]], Field(max_length=RECENTLY_DENIED)] | None
    ) = None
    """The hosts last refused, the most recent last."""


class CommonStatus(ApiModel):
    """Observed state, written by the operator."""

    observed_generation: int | None = None
    """The metadata.generation the status describes; kstatus reads this."""
    last_handled_reconcile_at: Annotated[str, Field(max_length=64)] | None = None
    """Echo of the reconcile.lunora.sh/requestedAt annotation last acted on."""
    conditions: Conditions | None = None
    """kstatus conditions: Ready always; Reconciling and Stalled only while true."""
    mode: Literal["cloudflare", "local"] | None = None
    """The mode the app was reconciled in."""


class LunoraContainerStatus(CommonStatus):
    """Observed state of the container, written by the operator."""

    class_name: Annotated[str, Field(max_length=128)] | None = None
    """Durable Object class, <ExportName>Container."""
    binding_name: Annotated[str, Field(max_length=128)] | None = None
    """Durable Object binding, CONTAINER_<EXPORT_NAME>."""
    application_name: Annotated[str, Field(max_length=256)] | None = None
    """Containers application name."""
    application_id: Annotated[str, Field(max_length=128)] | None = None
    """Containers application id on Cloudflare."""
    image: ImageStatus | None = None
    """The image in use."""
    migration_tag: Annotated[str, Field(max_length=64)] | None = None
    """Migration that declared this container's class."""
    config_hash: Annotated[str, Field(max_length=128)] | None = None
    """Hash of this container's part of the rendered config (its containers[] entry and binding);
    it changes exactly when what its application must follow changes."""
    instances: InstancesStatus | None = None
    """Instance counts."""
    egress: EgressStatus | None = None
    """Local mode with the router in the cluster: its instances' egress decisions, refreshed on
    each pass (a change of spec, a request, or the resync)."""
    last_sync_time: Timestamp | None = None
    """When the operator last changed the container's application (created it, or PATCHed it or
    started a rollout); a pass that finds it up to date keeps it, so a resync writes nothing."""


class AppContainerStatus(ApiModel):
    name: Annotated[str, Field(max_length=253)]
    """LunoraContainer name."""
    class_name: Annotated[str, Field(max_length=128)]
    """Durable Object class."""
    binding_name: Annotated[str, Field(max_length=128)]
    """Durable Object binding."""


class RouterStatus(ApiModel):
    """Local mode: the router that serves the app's containers."""

    name: Annotated[str, Field(max_length=63)] | None = None
    """Name of its Deployment, Service, ServiceAccount, Role and RoleBinding."""
    url: Annotated[str, Field(max_length=512)] | None = None
    """Its address inside the cluster, through its Service: /<container>/<id>/… reaches an instance."""


class LunoraAppStatus(CommonStatus):
    """Observed state of the app, written by the operator."""

    containers: (
        Annotated[
            list[AppContainerStatus],
            Field(
                max_length=256,
                json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
            ),
        ]
        | None
    ) = None
    """The containers rendered into this app's config."""
    container_count: int | None = None
    """Number of containers rendered into the config."""
    migration_tag: Annotated[str, Field(max_length=64)] | None = None
    """Last migration tag of the rendered config."""
    config_hash: Annotated[str, Field(max_length=128)] | None = None
    """Hash of the rendered wrangler config."""
    output_config_map: Annotated[str, Field(max_length=253)] | None = None
    """ConfigMap holding the rendered config, generated TypeScript and state record."""
    durable_object_namespace_ids: (
        Annotated[dict[str, Annotated[str, Field(max_length=128)]], Field(max_length=256)] | None
    ) = None
    """Durable Object namespace id per class."""
    worker_etag: Annotated[str, Field(max_length=128)] | None = None
    """Etag Cloudflare gave the Worker script the operator last uploaded."""
    worker_version_id: Annotated[str, Field(max_length=128)] | None = None
    """Deprecated: the same etag as workerEtag, under its old name, for tools that read it;
    removed in the next API version."""
    router: RouterStatus | None = None
    """Local mode: the app's router (absent while the operator runs it outside the cluster)."""
