"""Names, labels and annotations of instance Pods and their start-override Secrets.

An instance id is any string (`.get(name)`); Kubernetes names and label values hold at most 63
characters of a restricted alphabet, so the id is hashed into them and kept whole in an
annotation. Everything the router must know after a restart is on the Pod: which instance, which
run, when the run started.
"""

from __future__ import annotations

import hashlib
import re

from lunora_operator.api.base import GROUP

LABEL_APP = f"{GROUP}/app"
LABEL_CONTAINER = f"{GROUP}/container"
LABEL_INSTANCE = f"{GROUP}/instance"
LABEL_RUN = f"{GROUP}/run"
LABEL_ROLE = f"{GROUP}/role"
ROLE_INSTANCE = "instance"
ROLE_START_OVERRIDE = "start-override"
ROLE_ROUTER = "router"

ANNOTATION_INSTANCE_ID = f"{GROUP}/instance-id"
ANNOTATION_STARTED_AT = f"{GROUP}/run-started-at"
ANNOTATION_REPULL_OF = f"{GROUP}/repull-of"
"""On a Pod made because run N could not pull its image: N (a start gets one such Pod)."""
ANNOTATION_LABELS = f"{GROUP}/labels"
ANNOTATION_IMAGE_SOURCE = f"{GROUP}/image-source"
# The declared egress rules, carried for the egress proxy to enforce; nothing here enforces them.
ANNOTATION_ENABLE_INTERNET = f"{GROUP}/enable-internet"
ANNOTATION_ALLOWED_HOSTS = f"{GROUP}/allowed-hosts"
ANNOTATION_DENIED_HOSTS = f"{GROUP}/denied-hosts"
ANNOTATION_INTERCEPT_HTTPS = f"{GROUP}/intercept-https"

MAX_NAME = 63
INSTANCE_KEY_LENGTH = 16
POOL_PREFIX = "pool-"
_NOT_NAME = re.compile(r"[^a-z0-9-]+")


def instance_key(container: str, instance_id: str) -> str:
    """A label value naming one instance of one container: 16 hex digits of a SHA-256."""
    digest = hashlib.sha256(f"{container}\0{instance_id}".encode()).hexdigest()
    return digest[:INSTANCE_KEY_LENGTH]


def durable_object_id(namespace: str, app: str, container: str, instance_id: str) -> str:
    """The stand-in for CLOUDFLARE_DURABLE_OBJECT_ID: 64 hex digits, the same for the same id."""
    return hashlib.sha256(f"{namespace}/{app}/{container}/{instance_id}".encode()).hexdigest()


def _prefix(container: str, room: int) -> str:
    cleaned = _NOT_NAME.sub("-", container.lower()).strip("-")
    return cleaned[:room].rstrip("-") or "lc"


def pod_name(container: str, key: str, run: int) -> str:
    """`<container>-<key>-r<run>`, the container shortened so the whole fits 63 characters."""
    suffix = f"-{key}-r{run}"
    return _prefix(container, MAX_NAME - len(suffix)) + suffix


def override_secret_name(container: str, key: str) -> str:
    """The Secret holding one instance's `start()` override: one per instance, not per run."""
    suffix = f"-{key}-start"
    return _prefix(container, MAX_NAME - len(suffix)) + suffix


def instance_selector(app: str) -> str:
    return f"{LABEL_APP}={label_value(app)},{LABEL_ROLE}={ROLE_INSTANCE}"


def container_instance_selector(app: str, container: str) -> str:
    """The instance Pods of one container (what `LunoraContainer.status.instances.selector` says)."""
    return f"{LABEL_APP}={label_value(app)},{LABEL_CONTAINER}={label_value(container)},{LABEL_ROLE}={ROLE_INSTANCE}"


def router_selector(app: str) -> str:
    return f"{LABEL_APP}={label_value(app)},{LABEL_ROLE}={ROLE_ROUTER}"


def router_name(app: str) -> str:
    """`<app>-router`, the name of each of a router's objects (Deployment, Service, ServiceAccount,
    Role, RoleBinding): a DNS label (a Service name starts with a letter and holds 63 characters),
    shortened with a hash when the app's name does not fit."""
    suffix = "-router"
    cleaned = _NOT_NAME.sub("-", app.lower()).strip("-")
    if cleaned == app and len(app) + len(suffix) <= MAX_NAME and app[0].isalpha():
        return app + suffix
    digest = hashlib.sha256(app.encode()).hexdigest()[:8]
    room = MAX_NAME - len(suffix) - len(digest) - 1
    head = cleaned[:room].rstrip("-")
    if not head or not head[0].isalpha():
        head = ("r-" + head)[:room].rstrip("-")
    return f"{head}-{digest}{suffix}"


def pool_instance(index: int) -> str:
    return f"{POOL_PREFIX}{index}"


def label_value(name: str) -> str:
    """An object name as a label value: itself when it fits 63 characters, else shortened with a
    hash so two long names never share a value."""
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:INSTANCE_KEY_LENGTH]
    return f"{name[: MAX_NAME - INSTANCE_KEY_LENGTH - 1].rstrip('.-')}-{digest}"
