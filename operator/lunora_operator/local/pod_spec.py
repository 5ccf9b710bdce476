"""The Pod of one run of one instance, as a pure function of what it runs.

One Pod per run (`restartPolicy: Never`): a crash is seen as the run's end with its exit code,
never hidden by kubelet restarts, and the next start is a new Pod with the next run number.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lunora_operator.api.base import API_VERSION
from lunora_operator.local import exec_helper, names
from lunora_operator.local.config import ContainerConfig
from lunora_operator.local.egress import pod_spec as egress
from lunora_operator.local.override import ENV_KEY_PREFIX, StartOverride

CONTAINER_NAME = "instance"
# Requests are kept small so a development cluster fits many instances; the limits are the
# instance type's, so an app gets locally the CPU, memory and disk it gets on Cloudflare.
REQUESTS = {"cpu": "10m", "memory": "16Mi"}
DEFAULT_GRACE_SECONDS = 5
"""SIGTERM first, SIGKILL after this many seconds: enough for a server to finish the requests it
holds, short enough that a process ignoring SIGTERM (a shell or busybox as PID 1, common in
development images) frees its place within seconds rather than Kubernetes' default 30."""


@dataclass(frozen=True)
class PodSettings:
    grace_seconds: int = DEFAULT_GRACE_SECONDS
    location: str = "local"
    """CLOUDFLARE_LOCATION and CLOUDFLARE_REGION; a Cloudflare instance sees its colo and region."""
    country: str = "XX"
    """CLOUDFLARE_COUNTRY_A2; XX is the ISO 3166 code for an unknown country."""
    exec_helper_image: str | None = None
    """The image holding the exec helper; without it Pods get no helper and exec is not served."""
    egress_proxy: str | None = None
    """The app's egress proxy (`http://IP:PORT`): instances get the proxy variables and, with
    interceptHttps, its CA certificate. None: neither (no proxy runs for the app)."""


def owner_reference(config: ContainerConfig) -> dict[str, Any]:
    """The LunoraContainer owns every Pod and Secret of its instances: deleting it removes them."""
    return {
        "apiVersion": API_VERSION,
        "kind": "LunoraContainer",
        "name": config.name,
        "uid": config.uid,
        "controller": True,
        "blockOwnerDeletion": False,
    }


def _cloudflare_env(config: ContainerConfig, instance_id: str, settings: PodSettings) -> list[dict[str, Any]]:
    do_id = names.durable_object_id(config.namespace, config.app, config.name, instance_id)
    return [
        {"name": "CLOUDFLARE_DURABLE_OBJECT_ID", "value": do_id},
        {"name": "CLOUDFLARE_APPLICATION_ID", "value": config.uid},
        {"name": "CLOUDFLARE_DEPLOYMENT_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "CLOUDFLARE_LOCATION", "value": settings.location},
        {"name": "CLOUDFLARE_REGION", "value": settings.location},
        {"name": "CLOUDFLARE_COUNTRY_A2", "value": settings.country},
    ]


def _secret_ref(secret: str, key: str) -> dict[str, Any]:
    # optional: false (the default) makes the kubelet refuse to start without the value.
    return {"secretKeyRef": {"name": secret, "key": key}}


def _app_env(config: ContainerConfig, key: str, override: StartOverride | None) -> list[dict[str, Any]]:
    if override is not None and override.env_vars is not None:
        secret = names.override_secret_name(config.name, key)
        return [
            {"name": name, "valueFrom": _secret_ref(secret, ENV_KEY_PREFIX + name)}
            for name in sorted(override.env_vars)
        ]
    return [{"name": name, "value": value} for name, value in config.env] + [
        {"name": s.env, "valueFrom": _secret_ref(s.secret, s.key)} for s in config.secrets
    ]


def _env(
    config: ContainerConfig, instance_id: str, key: str, override: StartOverride | None, settings: PodSettings
) -> list[dict[str, Any]]:
    app_env = _app_env(config, key, override)
    declared = {entry["name"] for entry in app_env}
    proxy = egress.proxy_environment(settings.egress_proxy) if settings.egress_proxy is not None else []
    platform = [
        entry
        for entry in [*_cloudflare_env(config, instance_id, settings), *proxy]
        if entry["name"] not in declared
    ]
    return platform + app_env


def _limits(config: ContainerConfig) -> dict[str, str]:
    size = config.size
    return {
        "cpu": f"{math.ceil(size.vcpu * 1000)}m",
        "memory": f"{size.memory_mib}Mi",
        "ephemeral-storage": f"{size.disk_mb}M",
    }


def _annotations(
    config: ContainerConfig,
    instance_id: str,
    started_at: datetime,
    override: StartOverride | None,
    repull_of: int,
) -> dict[str, str]:
    labels = override.labels if override is not None and override.labels is not None else config.labels
    enable_internet = config.enable_internet
    if override is not None and override.enable_internet is not None:
        enable_internet = override.enable_internet
    annotations = {
        names.ANNOTATION_INSTANCE_ID: instance_id,
        names.ANNOTATION_STARTED_AT: started_at.isoformat(timespec="milliseconds"),
        names.ANNOTATION_IMAGE_SOURCE: config.image_source,
        names.ANNOTATION_ENABLE_INTERNET: "true" if enable_internet else "false",
        names.ANNOTATION_INTERCEPT_HTTPS: "true" if config.intercept_https else "false",
    }
    if repull_of:
        annotations[names.ANNOTATION_REPULL_OF] = str(repull_of)
    if labels:
        annotations[names.ANNOTATION_LABELS] = json.dumps(dict(labels), sort_keys=True)
    if config.allowed_hosts is not None:
        annotations[names.ANNOTATION_ALLOWED_HOSTS] = json.dumps(list(config.allowed_hosts))
    if config.denied_hosts is not None:
        annotations[names.ANNOTATION_DENIED_HOSTS] = json.dumps(list(config.denied_hosts))
    return annotations


def instance_labels(config: ContainerConfig, key: str) -> dict[str, str]:
    return {
        names.LABEL_APP: names.label_value(config.app),
        names.LABEL_CONTAINER: names.label_value(config.name),
        names.LABEL_INSTANCE: key,
    }


def instance_pod(
    config: ContainerConfig,
    instance_id: str,
    run: int,
    started_at: datetime,
    override: StartOverride | None = None,
    settings: PodSettings = PodSettings(),
    repull_of: int = 0,
) -> dict[str, Any]:
    """The Pod of run `run` of instance `instance_id`. `started_at` (timezone-aware) is stamped
    once: the hard timeout counts from it, also after a router restart. `repull_of` names the
    run whose failed pull this Pod replaces, so a restarted router does not retry it again."""
    if config.image is None:
        raise ValueError(f"container {config.name} has no image to run yet")
    key = names.instance_key(config.name, instance_id)
    entrypoint = (
        override.entrypoint if override is not None and override.entrypoint is not None else config.entrypoint
    )
    ports = dict.fromkeys([*([config.default_port] if config.default_port else []), *config.required_ports])
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": config.image,
        "env": _env(config, instance_id, key, override, settings),
        "resources": {"requests": REQUESTS, "limits": _limits(config)},
        "ports": [{"containerPort": port, "protocol": "TCP"} for port in ports],
    }
    if entrypoint is not None:
        container["command"] = list(entrypoint)
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": settings.grace_seconds,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "containers": [container],
    }
    if settings.exec_helper_image is not None:
        container.setdefault("volumeMounts", []).append(exec_helper.volume_mount())
        spec["initContainers"] = [exec_helper.init_container(settings.exec_helper_image)]
        spec.setdefault("volumes", []).append(exec_helper.volume())
    if settings.egress_proxy is not None and config.intercept_https:
        container.setdefault("volumeMounts", []).append(egress.ca_volume_mount())
        spec.setdefault("volumes", []).append(egress.ca_volume(config.app))
    if config.pull_secret is not None:
        spec["imagePullSecrets"] = [{"name": config.pull_secret}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": names.pod_name(config.name, key, run),
            "namespace": config.namespace,
            "labels": {
                **instance_labels(config, key),
                names.LABEL_RUN: str(run),
                names.LABEL_ROLE: names.ROLE_INSTANCE,
            },
            "annotations": _annotations(config, instance_id, started_at, override, repull_of),
            "ownerReferences": [owner_reference(config)],
        },
        "spec": spec,
    }


def override_secret(config: ContainerConfig, instance_id: str, data: dict[str, str]) -> dict[str, Any]:
    """The Secret holding one instance's start override, owned by the LunoraContainer."""
    key = names.instance_key(config.name, instance_id)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": names.override_secret_name(config.name, key),
            "namespace": config.namespace,
            "labels": {**instance_labels(config, key), names.LABEL_ROLE: names.ROLE_START_OVERRIDE},
            "annotations": {names.ANNOTATION_INSTANCE_ID: instance_id},
            "ownerReferences": [owner_reference(config)],
        },
        "stringData": data,
    }
