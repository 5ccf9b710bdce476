"""The Kubernetes objects that run one local-mode app's router in the cluster, as a pure function
of the app: a Deployment running the operator's own image with `lunora-operator router`, a
Service in front of it, and a ServiceAccount bound to a Role holding exactly what the router
calls. All are owned by the LunoraApp, so the garbage collector removes them with it.

The Pod meets the restricted Pod Security Standard: non-root, read-only root filesystem, no
privilege escalation, every capability dropped, the RuntimeDefault seccomp profile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lunora_operator.api.base import API_VERSION, GROUP
from lunora_operator.local import names

PORT = 8080
PORT_NAME = "http"
HEALTH_PATH = "/_api/healthz"
RUN_AS = 65532
"""The image's own user (`lunora`), given by number so the kubelet can check runAsNonRoot."""
MANAGED_BY = "lunora-operator"
RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}

ROUTER_RULES: tuple[Mapping[str, Any], ...] = (
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "create", "delete"]},
    # The start-override Secrets, each read by name: no list or watch of the namespace's Secrets.
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create", "update", "delete"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    {
        "apiGroups": [GROUP],
        "resources": ["lunoracontainers", "lunoraapps"],
        "verbs": ["get", "list", "watch"],
    },
)
"""What `lunora-operator router` calls, in its own namespace only (its Role)."""

EXEC_RULE: Mapping[str, Any] = {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]}
"""With the exec helper: `exec()` runs the helper in the instance's Pod (a Pod exec is a `create`,
and a WebSocket upgrade is authorized as `get` too)."""


@dataclass(frozen=True)
class RouterTemplate:
    """What every router Deployment shares: the operator's settings, not the app's."""

    image: str
    """The operator's own image (`--router-image`): the router is `lunora-operator router`."""
    pull_secrets: Sequence[str] = ()
    """imagePullSecrets for that image, by name, in each app's namespace (the app's own
    `local.pullSecret` is listed too)."""
    env: Sequence[tuple[str, str]] = field(default_factory=tuple)
    """Extra environment, e.g. KUBERNETES_SERVICE_HOST/PORT where no Service leads to the API server."""
    exec_helper_image: str | None = None
    """The exec helper's image (`--exec-helper-image` of each router); None: exec answers 501."""


@dataclass(frozen=True)
class RouterApp:
    """The app a router serves."""

    namespace: str
    name: str
    uid: str
    pull_secret: str | None = None

    @property
    def object_name(self) -> str:
        return names.router_name(self.name)

    @property
    def url(self) -> str:
        """The router's address inside the cluster, through its Service."""
        return f"http://{self.object_name}.{self.namespace}.svc:{PORT}"


def labels(app: RouterApp) -> dict[str, str]:
    return {
        names.LABEL_APP: names.label_value(app.name),
        names.LABEL_ROLE: names.ROLE_ROUTER,
        "app.kubernetes.io/name": "lunora-router",
        "app.kubernetes.io/instance": app.object_name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def selector(app: RouterApp) -> dict[str, str]:
    return {names.LABEL_APP: names.label_value(app.name), names.LABEL_ROLE: names.ROLE_ROUTER}


def owner_reference(app: RouterApp) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "LunoraApp",
        "name": app.name,
        "uid": app.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _metadata(app: RouterApp) -> dict[str, Any]:
    return {
        "name": app.object_name,
        "namespace": app.namespace,
        "labels": labels(app),
        "ownerReferences": [owner_reference(app)],
    }


def _router_args(app: RouterApp) -> list[str]:
    return ["router", "--namespace", app.namespace, "--app", app.name, "--listen", f"0.0.0.0:{PORT}"]


def _exec_args(template: RouterTemplate) -> list[str]:
    return ["--exec-helper-image", template.exec_helper_image] if template.exec_helper_image else []


def _pod_spec(app: RouterApp, template: RouterTemplate) -> dict[str, Any]:
    pull_secrets = list(
        dict.fromkeys([*template.pull_secrets, *([app.pull_secret] if app.pull_secret else [])])
    )
    container: dict[str, Any] = {
        "name": "router",
        "image": template.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["lunora-operator"],
        "args": [*_router_args(app), *_exec_args(template)],
        "env": [
            *({"name": name, "value": value} for name, value in template.env),
            {"name": "HOME", "value": "/tmp"},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
        ],
        "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": HEALTH_PATH, "port": PORT_NAME},
            "periodSeconds": 2,
            "failureThreshold": 3,
        },
        "resources": RESOURCES,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    spec: dict[str, Any] = {
        "serviceAccountName": app.object_name,
        "enableServiceLinks": False,
        # The router exits on SIGTERM at once; instance Pods are left running for its successor.
        "terminationGracePeriodSeconds": 10,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    if pull_secrets:
        spec["imagePullSecrets"] = [{"name": name} for name in pull_secrets]
    return spec


def deployment(app: RouterApp, template: RouterTemplate) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(app),
        "spec": {
            "replicas": 1,
            # Two routers must never serve one app at once (they would number runs twice).
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(app)},
            "template": {"metadata": {"labels": labels(app)}, "spec": _pod_spec(app, template)},
        },
    }


def service(app: RouterApp) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(app),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(app),
            "ports": [{"name": PORT_NAME, "port": PORT, "targetPort": PORT_NAME, "protocol": "TCP"}],
        },
    }


def service_account(app: RouterApp) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(app)}


def router_rules(template: RouterTemplate) -> list[Mapping[str, Any]]:
    return [*ROUTER_RULES, *([EXEC_RULE] if template.exec_helper_image else [])]


def role(app: RouterApp, template: RouterTemplate) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _metadata(app),
        "rules": [dict(rule) for rule in router_rules(template)],
    }


def role_binding(app: RouterApp) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _metadata(app),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": app.object_name},
        "subjects": [{"kind": "ServiceAccount", "name": app.object_name, "namespace": app.namespace}],
    }


def router_objects(app: RouterApp, template: RouterTemplate) -> list[dict[str, Any]]:
    """In the order they are created: the identity and its rights before the Pod that uses them."""
    return [
        service_account(app),
        role(app, template),
        role_binding(app),
        service(app),
        deployment(app, template),
    ]
