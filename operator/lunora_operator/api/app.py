"""`LunoraApp.spec`: the Worker the containers belong to, its account and its wrangler config."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from lunora_operator.api import rules as r
from lunora_operator.api.base import ApiModel
from lunora_operator.api.fields import ConfigMapKeySelector, ObjectName, SecretKeySelector
from lunora_operator.api.rules import OK, Rule

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
REGISTRY_HOST_PATTERN = r"^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$"


def _url_check(value: str) -> tuple[Any, ...] | None:
    try:
        parts = urlsplit(value)
    except ValueError:
        return (value,)
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return (value,)
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        return (value,)
    return OK


class CloudflareAccount(ApiModel):
    """The Cloudflare account the Worker and its containers live in."""

    account_id: Annotated[
        str,
        Field(max_length=32),
        r.matches(
            "^[0-9a-f]{32}$", '`cloudflare.accountId` "%s" must be a 32-character lower-case hex account id'
        ),
    ]
    """Cloudflare account id (32 hex characters)."""
    api_token_secret_ref: SecretKeySelector
    """Secret key holding the API token (Workers Scripts, Containers and Durable Objects edit)."""
    api_base_url: (
        Annotated[
            str,
            Field(max_length=2048),
            Rule(
                cel="isURL(self) && (url(self).getScheme() == 'https' || (url(self).getScheme() == 'http'"
                " && url(self).getHostname() in ['127.0.0.1', 'localhost', '::1']))",
                message='`cloudflare.apiBaseUrl` "%s" must be an https:// URL (http:// only for 127.0.0.1 or localhost)',
                cel_args=("self",),
                check=_url_check,
            ),
        ]
        | None
    ) = None
    """API base URL; https://api.cloudflare.com/client/v4 when omitted."""
    registry: (
        Annotated[
            str,
            Field(max_length=253),
            r.matches(
                REGISTRY_HOST_PATTERN,
                '`cloudflare.registry` "%s" must be a registry host with an optional port and path, like "registry.cloudflare.com"',
            ),
        ]
        | None
    ) = None
    """Registry images are pushed to; registry.cloudflare.com when omitted."""


FORMAT_FROM_SUFFIX = {".toml": "toml", ".jsonc": "jsonc", ".json": "jsonc"}


def _format_matches_key(wrangler: WranglerConfig) -> tuple[Any, ...] | None:
    if wrangler.base is None:
        return OK
    for suffix, fmt in FORMAT_FROM_SUFFIX.items():
        if wrangler.base.key.endswith(suffix) and fmt != wrangler.format:
            return (wrangler.base.key, wrangler.format)
    return OK


class WranglerConfig(ApiModel):
    """The base wrangler config the operator merges into, and where the result goes."""

    object_rules = (
        Rule(
            cel="!has(self.base) || !(self.base.key.endsWith('.toml') && self.format != 'toml')"
            " && !((self.base.key.endsWith('.jsonc') || self.base.key.endsWith('.json')) && self.format != 'jsonc')",
            message='`wrangler.format` does not match the base config key "%s" (format is %s)',
            cel_args=("self.base.key", "self.format"),
            check=_format_matches_key,
            field_path=".format",
        ),
    )

    base: ConfigMapKeySelector | None = None
    """ConfigMap key holding the user's wrangler.toml or wrangler.jsonc; everything in it that the
    operator does not own is kept byte-for-byte. Without it the operator starts from an empty config."""
    format: Literal["toml", "jsonc"] = "jsonc"
    """Format of the base and of the rendered config."""
    output_config_map: ObjectName | None = None
    """ConfigMap the rendered config is written to; <app name>-wrangler when omitted."""


class WorkerBundle(ApiModel):
    """A built Worker the operator uploads itself, with its bindings and migrations."""

    config_map: ObjectName
    """ConfigMap whose keys are the built modules."""
    main_module: Annotated[str, Field(min_length=1, max_length=253)]
    """Key of the entry module."""
    compatibility_date: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", max_length=10)]
    """Workers compatibility date, YYYY-MM-DD."""
    compatibility_flags: (
        Annotated[list[Annotated[str, Field(max_length=128)]], Field(max_length=64)] | None
    ) = None
    """Workers compatibility flags, such as nodejs_compat."""


class LocalSettings(ApiModel):
    """Local mode: each instance is a Pod in the app's namespace, behind the app's router."""

    registry: (
        Annotated[
            str,
            Field(max_length=253),
            r.matches(
                REGISTRY_HOST_PATTERN,
                '`local.registry` "%s" must be a registry host with an optional port and path, like "localhost:5001"',
            ),
        ]
        | None
    ) = None
    """Registry the operator pushes built images to for the cluster to pull, such as the
    local registry of a kind cluster; registry images are pulled from where they name."""
    pull_secret: ObjectName | None = None
    """Secret of type kubernetes.io/dockerconfigjson in the app's namespace; every instance Pod
    lists it in imagePullSecrets."""


def _cloudflare_required(spec: LunoraAppSpec) -> tuple[Any, ...] | None:
    return () if spec.mode == "cloudflare" and spec.cloudflare is None else OK


class LunoraAppSpec(ApiModel):
    """A Worker script and its containers: one wrangler config, one migration history."""

    object_rules = (
        Rule(
            cel="self.mode != 'cloudflare' || has(self.cloudflare)",
            message="`cloudflare` is required when `mode` is cloudflare: set `cloudflare.accountId` and `cloudflare.apiTokenSecretRef`",
            cel_args=(),
            check=_cloudflare_required,
            field_path=".cloudflare",
        ),
    )

    worker_name: Annotated[
        str,
        Field(max_length=63),
        r.matches(
            "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
            '`workerName` "%s" must be lower-case letters, digits and -, not starting or ending with -',
        ),
    ]
    """Worker script name."""
    mode: Literal["cloudflare", "local"] = "cloudflare"
    """cloudflare: reconcile Cloudflare state; local: run instances here behind a router."""
    cloudflare: CloudflareAccount | None = None
    wrangler: WranglerConfig = WranglerConfig()
    worker: WorkerBundle | None = None
    """Optional built Worker; without it the operator renders the config and waits for an external
    `wrangler deploy` to create the Durable Object namespace."""
    local: LocalSettings = LocalSettings()
    suspend: bool = False
    """Pause reconciling this app and its containers."""
