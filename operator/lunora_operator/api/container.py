"""`LunoraContainer.spec`: Lunora's `defineContainer` options (default scheduling policy),
adapted to Kubernetes. The rules and their texts are Lunora's (its tests match on the quoted
parts), except where a comment or the README's table of differences says otherwise."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from lunora_operator.api import rules as r
from lunora_operator.api.base import ApiModel
from lunora_operator.api.fields import (
    DNS_SUBDOMAIN_PATTERN,
    ObjectName,
    SecretKeySelector,
    duration_rules,
    duration_schema,
)
from lunora_operator.api.rules import OK, Rule

MAX_MAP_ENTRIES = 256
MAX_LIST_ITEMS = 256
MAX_STRING = 4096
# Lists checked by CEL rules are kept small: the API server bounds a rule's worst-case cost.
MAX_SECRETS = 64
MAX_HOSTS = 100

NAMED_INSTANCE_TYPES = ("lite", "basic", "standard-1", "standard-2", "standard-3", "standard-4")
# wrangler's rules: one percentage from this list, or a list of steps each in 10–100, ascending,
# ending at 100, with no more steps than max_instances.
ROLLOUT_STEP_PERCENTAGES = (5, 10, 20, 25, 50, 100)
ROLLOUT_STEP_MIN, ROLLOUT_STEP_MAX = 10, 100
MAX_ROLLOUT_STEPS = 20
# Placement regions and compliance jurisdictions wrangler 4.86 accepts in containers[].constraints.
REGIONS = ("ENAM", "WNAM", "EEUR", "WEUR", "APAC", "SAM", "ME", "OC", "AFR")
JURISDICTIONS = ("eu", "fedramp")
EXPORT_NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_]*$"

# Custom instance limits, Cloudflare's (Lunora's CUSTOM_INSTANCE_TYPE_LIMITS): 1–4 whole vCPUs,
# at most 12288 MiB and at least 3072 MiB per vCPU, at most 20000 MB of disk and 2000 MB per GiB.
CUSTOM_VCPU_MIN, CUSTOM_VCPU_MAX = 1, 4
CUSTOM_MEMORY_MIB_MAX = 12288
CUSTOM_DISK_MB_MAX = 20000
MEMORY_MIB_PER_VCPU = 3072
DISK_MB_PER_GIB = 2000

Text = Annotated[str, Field(max_length=MAX_STRING)]
StringMap = Annotated[dict[str, Text], Field(max_length=MAX_MAP_ENTRIES)]
StringList = Annotated[list[Text], Field(max_length=MAX_LIST_ITEMS)]


def exactly_one(label: str, fields: dict[str, str]) -> Rule:
    """Exactly one of `fields` (wire name -> attribute) is set."""
    listed = " or ".join(f"`{name}`" for name in fields)
    return Rule(
        cel=" + ".join(f"(has(self.{name}) ? 1 : 0)" for name in fields) + " == 1",
        message=f"`{label}` must set exactly one of {listed}",
        cel_args=(),
        check=lambda obj: OK if sum(getattr(obj, attr) is not None for attr in fields.values()) == 1 else (),
    )


# --- image -------------------------------------------------------------------------------------

REGISTRY_TAG_OR_DIGEST = "(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$"


class GitContext(ApiModel):
    """A build context fetched from a Git repository."""

    url: Annotated[Text, r.non_blank("image.build.context.git.url")]
    """Clone URL (https:// or ssh)."""
    revision: Text | None = None
    """Branch, tag or commit to build; the remote's default branch when omitted."""
    path: Text | None = None
    """Subdirectory of the repository that is the build context."""


class ConfigMapContext(ApiModel):
    """A build context held in a ConfigMap: each key is a file of the context."""

    name: ObjectName


class BuildContext(ApiModel):
    """Where the files of the build come from: exactly one of `git`, `configMap` or `path`."""

    object_rules = (
        exactly_one("image.build.context", {"git": "git", "configMap": "config_map", "path": "path"}),
    )

    git: GitContext | None = None
    config_map: ConfigMapContext | None = None
    """A ConfigMap in the same namespace whose keys are the files of the context."""
    path: (
        Annotated[
            Text,
            r.non_blank("image.build.context.path", "`image.build.context.path` must be a non-empty path"),
            Rule(
                cel="!self.contains(':')",
                message='`image.build.context.path` "%s" looks like a registry reference; use `image.registry` for a pre-built image',
                cel_args=("self",),
                check=lambda value: OK if ":" not in value else (value,),
            ),
        ]
        | None
    ) = None
    """A directory relative to the wrangler config (offline `render`, where wrangler builds it) or
    to the operator's `--build-root` (the operator builds it; refused without a build root)."""


class ImageBuild(ApiModel):
    """An image the operator (or wrangler) builds from a Dockerfile."""

    context: BuildContext
    dockerfile: Annotated[
        Text,
        r.non_blank("image.build.dockerfile"),
        Rule(
            cel="!self.startsWith('/') && !self.split('/').exists(p, p == '..')",
            message='`image.build.dockerfile` "%s" must be a path inside the build context',
            cel_args=("self",),
            check=lambda value: (
                OK if not value.startswith("/") and ".." not in value.split("/") else (value,)
            ),
        ),
    ] = "Dockerfile"
    """Path of the Dockerfile, relative to the build context."""
    build_args: Annotated[StringMap, r.env_name_keys("buildArgs", "buildArg name")] | None = None
    """`docker build --build-arg` values (wrangler `image_vars`); build time only."""


class ImageSource(ApiModel):
    """The container image: a pre-built `registry` reference or a `build`."""

    object_rules = (exactly_one("image", {"registry": "registry", "build": "build"}),)

    registry: (
        Annotated[
            Text,
            r.non_blank("image.registry", "`image.registry` must be a non-empty registry reference"),
            r.matches(r"^\S+$", '`image.registry` "%s" must not contain whitespace', unless_blank=True),
            Rule(
                cel="!self.contains('://')",
                message='`image.registry` "%s" must not include a scheme such as https://',
                cel_args=("self",),
                check=lambda value: OK if "://" not in value else (value,),
            ),
            r.matches(
                REGISTRY_TAG_OR_DIGEST,
                '`image.registry` "%s" needs a tag or digest, like "docker.io/acme/app:1.4" (wrangler rejects untagged references)',
                unless_blank=True,
            ),
        ]
        | None
    ) = None
    """A fully qualified image reference with a tag or digest (Cloudflare Registry, Docker Hub,
    ECR or Artifact Registry)."""
    build: ImageBuild | None = None


# --- sizing ------------------------------------------------------------------------------------


def _memory_per_vcpu(obj: CustomInstanceTypeSpec) -> tuple[Any, ...] | None:
    return OK if obj.memory_mib >= MEMORY_MIB_PER_VCPU * obj.vcpu else (obj.memory_mib, obj.vcpu)


def _disk_per_memory(obj: CustomInstanceTypeSpec) -> tuple[Any, ...] | None:
    return OK if obj.disk_mb * 1024 <= obj.memory_mib * DISK_MB_PER_GIB else (obj.disk_mb, obj.memory_mib)


class CustomInstanceTypeSpec(ApiModel):
    """A custom instance size within Cloudflare's limits (enterprise accounts)."""

    object_rules = (
        Rule(
            cel=f"self.memoryMib >= {MEMORY_MIB_PER_VCPU} * self.vcpu",
            message=f"`customInstanceType.memoryMib` must be at least {MEMORY_MIB_PER_VCPU} MiB per vCPU (got %s MiB for %s vCPU)",
            cel_args=("self.memoryMib", "self.vcpu"),
            check=_memory_per_vcpu,
            field_path=".memoryMib",
        ),
        Rule(
            cel=f"self.diskMb * 1024 <= self.memoryMib * {DISK_MB_PER_GIB}",
            message=f"`customInstanceType.diskMb` must be at most {DISK_MB_PER_GIB} MB per GiB of memory (got %s MB for %s MiB)",
            cel_args=("self.diskMb", "self.memoryMib"),
            check=_disk_per_memory,
            field_path=".diskMb",
        ),
    )

    vcpu: Annotated[
        int,
        r.int_range(
            "customInstanceType.vcpu",
            CUSTOM_VCPU_MIN,
            CUSTOM_VCPU_MAX,
            "a whole number of vCPUs in 1–4; below 1 vCPU use `lite` or `basic`",
        ),
    ]
    """Whole vCPUs, 1–4."""
    memory_mib: Annotated[
        int, r.int_range("customInstanceType.memoryMib", 1, CUSTOM_MEMORY_MIB_MAX, "in 1–12288")
    ]
    """Memory in MiB, at most 12288 and at least 3072 per vCPU."""
    disk_mb: Annotated[int, r.int_range("customInstanceType.diskMb", 1, CUSTOM_DISK_MB_MAX, "in 1–20000")]
    """Disk in MB, at most 20000 and at most 2000 per GiB of memory."""


# --- runtime -----------------------------------------------------------------------------------


class SecretEnvSource(ApiModel):
    """The source of a secret value."""

    secret_key_ref: SecretKeySelector
    """A key of a Secret in the same namespace."""


class SecretEnv(ApiModel):
    """A container environment variable whose value comes from a Secret."""

    name: Annotated[Text, r.env_name("secrets[].name")]
    """Environment variable name inside the container."""
    value_from: SecretEnvSource
    """Where the value comes from: a key of a Secret in the same namespace."""


class ReadyOnProbe(ApiModel):
    """An application readiness probe that gates request proxying."""

    path: Annotated[
        Text,
        r.non_blank("readyOn[].path", "`readyOn[].path` must be a non-empty path"),
        r.no_surrounding_whitespace("readyOn[].path"),
    ]
    """HTTP path to probe; a leading / is optional."""
    port: Annotated[int, r.port("readyOn[].port")] | None = None
    """Port to probe; `defaultPort` when omitted."""
    status: Annotated[int, r.int_range("readyOn[].status", 100, 599, "an HTTP status in 100–599")] | None = (
        None
    )
    """Exact status that means ready; 200 when omitted."""


def _both_step_forms(rollout: RolloutSpec) -> tuple[Any, ...] | None:
    return () if rollout.step_percentage is not None and rollout.steps is not None else OK


def _steps_ascending(steps: list[int]) -> tuple[Any, ...] | None:
    return OK if steps == sorted(steps) else (steps,)


class RolloutSpec(ApiModel):
    """How Cloudflare rolls out a new image or size."""

    object_rules = (
        Rule(
            cel="!has(self.stepPercentage) || !has(self.steps)",
            message="set either `rollout.stepPercentage` or `rollout.steps`, not both",
            cel_args=(),
            check=_both_step_forms,
            field_path=".steps",
        ),
    )

    step_percentage: (
        Annotated[
            int,
            r.one_of_ints("rollout.stepPercentage", ROLLOUT_STEP_PERCENTAGES, "the steps wrangler accepts"),
        ]
        | None
    ) = None
    """Percentage of instances updated per step: one of 5, 10, 20, 25, 50, 100."""
    steps: (
        Annotated[
            list[int],
            Field(max_length=MAX_ROLLOUT_STEPS),
            r.non_empty_list(
                "`rollout.steps` must be a non-empty list of percentages ending at 100, or omitted"
            ),
            Rule(
                cel=f"self.all(p, p >= {ROLLOUT_STEP_MIN} && p <= {ROLLOUT_STEP_MAX})",
                message=f"`rollout.steps[]` must be a percentage in {ROLLOUT_STEP_MIN}–{ROLLOUT_STEP_MAX} (got %s)",
                cel_args=(f"self.filter(p, p < {ROLLOUT_STEP_MIN} || p > {ROLLOUT_STEP_MAX})[0]",),
                check=lambda steps: (
                    OK
                    if (bad := r.first(steps, lambda p: not ROLLOUT_STEP_MIN <= p <= ROLLOUT_STEP_MAX))
                    is None
                    else (bad,)
                ),
            ),
            Rule(
                cel="self.isSorted()",
                message="`rollout.steps` must be in ascending order (got %s)",
                cel_args=("self",),
                check=_steps_ascending,
            ),
            Rule(
                cel=f"size(self) == 0 || self[size(self) - 1] == {ROLLOUT_STEP_MAX}",
                message=f"the last of `rollout.steps` must be {ROLLOUT_STEP_MAX} (got %s)",
                cel_args=("self[size(self) - 1]",),
                check=lambda steps: OK if not steps or steps[-1] == ROLLOUT_STEP_MAX else (steps[-1],),
            ),
        ]
        | None
    ) = None
    """Explicit rollout steps, the percentage of instances updated after each, like [10, 50, 100]:
    each 10–100, ascending, ending at 100, at most maxInstances steps."""
    grace_period_seconds: (
        Annotated[int, r.int_range("rollout.gracePeriodSeconds", 0, None, "an integer ≥ 0")] | None
    ) = None
    """Instances whose Durable Object connection is younger than this are skipped in a step."""


class ConstraintsSpec(ApiModel):
    """Where Cloudflare may place the container's instances (wrangler `constraints`)."""

    regions: (
        Annotated[
            list[Annotated[str, Field(max_length=8)]],
            Field(max_length=len(REGIONS)),
            r.non_empty_list("`constraints.regions` must be a non-empty list of regions, or omitted"),
            r.items_one_of("constraints.regions", REGIONS, "a region"),
        ]
        | None
    ) = None
    """Regions instances may run in: ENAM, WNAM, EEUR, WEUR, APAC, SAM, ME, OC, AFR."""
    jurisdiction: (
        Annotated[
            str,
            Field(max_length=16),
            r.one_of_strings("constraints.jurisdiction", JURISDICTIONS, "use one of", ""),
        ]
        | None
    ) = None
    """Compliance jurisdiction instances stay in: eu or fedramp."""


HOST_PATTERN = r"^[A-Za-z0-9*]([A-Za-z0-9*.-]*[A-Za-z0-9*])?$"
HostList = Annotated[list[Annotated[str, Field(max_length=253)]], Field(max_length=MAX_HOSTS)]


def host_list_rules(label: str) -> tuple[Rule, ...]:
    return (
        r.non_blank_items(label, f"`{label}` must be an array of non-empty host names"),
        r.list_items_match(
            HOST_PATTERN,
            f'`{label}` entry "%s" is not a host name or glob like "api.github.com" or "*.stripe.com" (no scheme, port or path)',
        ),
    )


def _secrets_overlap_env(spec: LunoraContainerSpec) -> tuple[Any, ...] | None:
    if not spec.secrets or not spec.env:
        return OK
    env = spec.env
    clash = r.first(spec.secrets, lambda s: s.name in env)
    return OK if clash is None else (clash.name,)


def _store_overlaps(spec: LunoraContainerSpec) -> tuple[Any, ...] | None:
    if not spec.secrets_store:
        return OK
    taken = set(spec.env or {}) | {s.name for s in spec.secrets or []}
    clash = r.first(spec.secrets_store, lambda key: key in taken)
    return OK if clash is None else (clash,)


def _probe_without_port(spec: LunoraContainerSpec) -> tuple[Any, ...] | None:
    if spec.default_port is not None or not spec.ready_on:
        return OK
    probe = r.first(spec.ready_on, lambda p: p.port is None)
    return OK if probe is None else (probe.path,)


def _both_instance_types(spec: LunoraContainerSpec) -> tuple[Any, ...] | None:
    return () if spec.instance_type is not None and spec.custom_instance_type is not None else OK


def _more_steps_than_instances(spec: LunoraContainerSpec) -> tuple[Any, ...] | None:
    steps = spec.rollout.steps if spec.rollout is not None else None
    if steps is None or spec.max_instances is None or len(steps) <= spec.max_instances:
        return OK
    return (len(steps), spec.max_instances)


class LunoraContainerSpec(ApiModel):
    """One container definition: every `defineContainer` option of the default scheduling policy."""

    object_rules = (
        Rule(
            cel="!has(self.secrets) || !has(self.env) || self.secrets.all(s, !(s.name in self.env))",
            message='`secrets` entry "%s" is in both `env` and `secrets`; keep one',
            cel_args=("self.secrets.filter(s, s.name in self.env)[0].name",),
            check=_secrets_overlap_env,
            field_path=".secrets",
        ),
        Rule(
            cel="!has(self.secretsStore) || self.secretsStore.all(k, !(has(self.env) && k in self.env)"
            " && !(has(self.secrets) && self.secrets.exists(s, s.name == k)))",
            message='`secretsStore` key "%s" is in both `secretsStore` and `env`/`secrets`; keep one',
            cel_args=(
                "self.secretsStore.filter(k, (has(self.env) && k in self.env)"
                " || (has(self.secrets) && self.secrets.exists(s, s.name == k)))[0]",
            ),
            check=_store_overlaps,
            field_path=".secretsStore",
        ),
        Rule(
            cel="has(self.defaultPort) || !has(self.readyOn) || self.readyOn.all(p, has(p.port))",
            message='`readyOn[].port` is required for probe "%s" because `defaultPort` is not set',
            cel_args=("self.readyOn.filter(p, !has(p.port))[0].path",),
            check=_probe_without_port,
            field_path=".readyOn",
        ),
        Rule(
            cel="!has(self.instanceType) || !has(self.customInstanceType)",
            message="set either `instanceType` or `customInstanceType`, not both",
            cel_args=(),
            check=_both_instance_types,
            field_path=".customInstanceType",
        ),
        Rule(
            cel="!has(self.rollout) || !has(self.rollout.steps) || !has(self.maxInstances)"
            " || size(self.rollout.steps) <= self.maxInstances",
            message="`rollout.steps` has %s steps but `maxInstances` is %s: at most one step per instance",
            cel_args=("size(self.rollout.steps)", "self.maxInstances"),
            check=_more_steps_than_instances,
            field_path=".rollout.steps",
        ),
    )

    app: Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
    """Name of the LunoraApp (same namespace) this container belongs to."""
    export_name: (
        Annotated[
            str,
            Field(max_length=63),
            r.matches(
                EXPORT_NAME_PATTERN,
                '`exportName` "%s" must be an identifier: a letter, then letters, digits or _',
            ),
        ]
        | None
    ) = None
    """Lunora export name; drives class `<ExportName>Container` and binding `CONTAINER_<EXPORT_NAME>`.
    Defaults to the camelCase of metadata.name."""
    image: ImageSource
    default_port: Annotated[int, r.port("defaultPort")] | None = None
    """Port a request goes to when it names none; also the default `readyOn` port."""
    required_ports: (
        Annotated[
            list[int],
            Field(max_length=64),
            r.non_empty_list("`requiredPorts` must be a non-empty array of ports, or omitted"),
            Rule(
                cel="self.all(p, p >= 1 && p <= 65535)",
                message="`requiredPorts[]` must be an integer in 1–65535 (got %s)",
                cel_args=("self.filter(p, p < 1 || p > 65535)[0]",),
                check=lambda ports: (
                    OK if (bad := r.first(ports, lambda p: not 1 <= p <= 65535)) is None else (bad,)
                ),
            ),
        ]
        | None
    ) = None
    """Every port that must listen before the container counts as started."""
    instance_type: (
        Annotated[
            str,
            Field(max_length=32),
            r.one_of_strings(
                "instanceType",
                NAMED_INSTANCE_TYPES,
                "use one of",
                ", or a custom size in `customInstanceType`",
            ),
        ]
        | None
    ) = None
    """Named size: lite, basic, standard-1, standard-2, standard-3 or standard-4 (platform default lite)."""
    custom_instance_type: CustomInstanceTypeSpec | None = None
    """Custom size {vcpu, memoryMib, diskMb}; Lunora's object form of `instanceType`."""
    max_instances: Annotated[int, r.int_range("maxInstances", 1, None, "a positive integer")] | None = None
    """Cap on concurrently running instances; also the pool size of `.any()` / `.pool()`."""
    sleep_after: (
        Annotated[
            int | str,
            WithJsonSchema(
                duration_schema('Idle time before the container stops: seconds, or "30s", "5m", "1h".')
            ),
            *duration_rules("sleepAfter"),
        ]
        | None
    ) = None
    """Idle time before the container stops (platform default 10m)."""
    hard_timeout: (
        Annotated[
            int | str,
            WithJsonSchema(
                duration_schema('Lifetime cap from start, busy or not: seconds, or "30s", "5m", "1h".')
            ),
            *duration_rules("hardTimeout"),
        ]
        | None
    ) = None
    """Lifetime cap from start, regardless of activity."""
    env: Annotated[StringMap, r.env_name_keys("env", "env variable name")] | None = None
    """Static environment variables of every default start."""
    secrets: (
        Annotated[
            list[SecretEnv],
            Field(max_length=MAX_SECRETS),
            Rule(
                cel="self.all(s, self.exists_one(t, t.name == s.name))",
                message='`secrets` declares "%s" more than once',
                cel_args=("self.filter(s, !self.exists_one(t, t.name == s.name))[0].name",),
                check=lambda secrets: (
                    OK
                    if (dup := r.first(secrets, lambda s: sum(t.name == s.name for t in secrets) > 1)) is None
                    else (dup.name,)
                ),
            ),
        ]
        | None
    ) = None
    """Environment variables from Secrets (by reference only); a missing Secret fails closed."""
    secrets_store: (
        Annotated[
            StringMap,
            r.env_name_keys("secretsStore", "env variable name"),
            Rule(
                cel="self.all(k, self[k].trim() != '')",
                message='`secretsStore` "%s" needs a non-empty Secrets Store binding name',
                cel_args=("self.filter(k, self[k].trim() == '')[0]",),
                check=lambda value: (
                    OK if (bad := r.first(value, lambda k: r.is_blank(value[k]))) is None else (bad,)
                ),
            ),
        ]
        | None
    ) = None
    """Container env name -> Cloudflare Secrets Store binding name, resolved at first start."""
    labels: (
        Annotated[
            StringMap,
            r.non_blank_keys("labels", "`labels` must be a record of non-empty keys to string values"),
        ]
        | None
    ) = None
    """Metadata attached to every instance for metrics and observability."""
    enable_internet: bool | None = None
    """Outbound internet access (platform default true)."""
    allowed_hosts: Annotated[HostList, *host_list_rules("allowedHosts")] | None = None
    """Hosts (globs like *.stripe.com) reachable even with enableInternet false."""
    denied_hosts: Annotated[HostList, *host_list_rules("deniedHosts")] | None = None
    """Hosts that are never reachable; deny overrides everything."""
    intercept_https: bool | None = None
    """Apply the allow/deny lists to TLS too (the image must trust the Cloudflare CA)."""
    ready_on: Annotated[list[ReadyOnProbe], Field(max_length=32)] | None = None
    """Application readiness probes; requests wait until every probe answers its status."""
    entrypoint: (
        Annotated[
            StringList,
            r.non_empty_list("`entrypoint` must be a non-empty array of non-empty strings, or omitted"),
            r.non_blank_items("entrypoint", "`entrypoint` must be a non-empty array of non-empty strings"),
        ]
        | None
    ) = None
    """Overrides the image ENTRYPOINT/CMD."""
    ping_endpoint: (
        Annotated[Text, r.non_blank("pingEndpoint", "`pingEndpoint` must be a non-empty path")] | None
    ) = None
    """Health path the platform polls (upstream default "ping")."""
    rollout: RolloutSpec | None = None
    """How Cloudflare rolls out a new image or size."""
    constraints: ConstraintsSpec | None = None
    """Placement regions and compliance jurisdiction of the instances."""
    name: (
        Annotated[
            Text,
            Field(max_length=128),
            r.matches(r"^\S+$", '`name` "%s" must be a non-empty application name without whitespace'),
        ]
        | None
    ) = None
    """Containers application name; wrangler's default is <workerName>-<className>, lower-cased."""
    deletion_policy: Literal["Delete", "Orphan"] = "Delete"
    """Delete removes the Cloudflare application and records a deleted_classes migration;
    Orphan leaves Cloudflare untouched."""
    suspend: bool = False
    """Pause reconciling this container."""
