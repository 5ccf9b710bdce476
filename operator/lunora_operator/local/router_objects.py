"""The Kubernetes objects that run one local-mode app's router in the cluster, as a pure function
of the app: a Deployment running the operator's own image with `lunora-operator router` and,
beside it in the same Pod, the app's egress proxy (`lunora-operator egress-proxy`), a Service in
front of the router, a ServiceAccount bound to a Role holding exactly what the two call, and the
NetworkPolicy that leaves the app's instance Pods one way out: that proxy. All are owned by the
LunoraApp, so the garbage collector removes them with it.

The proxy's control API listens on the Pod's loopback only: the router reaches it there. The
NetworkPolicy lets an instance reach the proxy port alone, and the proxy refuses its own host
(loopback, the Pod's addresses) and the router's Service as destinations, so an instance cannot
reach the router's API or the control API through it. Instances reach the proxy at the router
Pod's own address
(the downward API's `status.podIP`), which needs neither DNS nor Service networking.

The Pod meets the restricted Pod Security Standard: non-root, read-only root filesystem, no
privilege escalation, every capability dropped, the RuntimeDefault seccomp profile.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lunora_operator.api.base import API_VERSION, GROUP
from lunora_operator.local import names
from lunora_operator.local.egress.network_policy import (
    KUBE_DNS,
    EgressPolicy,
    Peer,
    PolicyOwner,
    instance_network_policy,
)

PORT = 8080
PORT_NAME = "http"
HEALTH_PATH = "/_api/healthz"
RUN_AS = 65532
"""The image's own user (`lunora`), given by number so the kubelet can check runAsNonRoot."""
MANAGED_BY = "lunora-operator"
RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}
EGRESS_PROXY_CONTAINER = "egress-proxy"
EGRESS_PROXY_PORT = 3128
EGRESS_PROXY_PORT_NAME = "egress-proxy"
EGRESS_CONTROL_PORT = 3129
EGRESS_HEALTH_PORT = 3130
"""The proxy's /healthz alone: the kubelet's probe cannot reach the control API on loopback."""
EGRESS_HEALTH_PORT_NAME = "egress-health"
OPERATOR_PROXY_FLAGS = ("--namespace", "--app", "--listen", "--control", "--health", "--kubeconfig")
"""What the operator sets on the proxy itself; extra proxy arguments may not repeat them."""

ROUTER_RULES: tuple[Mapping[str, Any], ...] = (
    # patch: the egress proxy records runtime rule changes on the instance's Pod.
    {
        "apiGroups": [""],
        "resources": ["pods"],
        "verbs": ["get", "list", "watch", "create", "patch", "delete"],
    },
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
    egress_proxy_args: Sequence[str] = ()
    """Extra arguments of each app's `lunora-operator egress-proxy` (`--resolve HOST=IP`, `--upstream-ca`)."""
    egress_dns: Peer | None = KUBE_DNS
    """Where instances may send DNS queries besides the proxy; None: nowhere."""

    def __post_init__(self) -> None:
        for arg in self.egress_proxy_args:
            if arg.split("=", 1)[0] in OPERATOR_PROXY_FLAGS:
                raise ValueError(
                    f"egress proxy argument {arg!r}: the operator sets {arg.split('=', 1)[0]} itself"
                )


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


POD_IP_ENV = "POD_IP"
ROUTER_EGRESS_ARGS = (
    *("--egress-control", f"http://127.0.0.1:{EGRESS_CONTROL_PORT}"),
    # Expanded by the kubelet from the container's POD_IP variable (the downward API).
    *("--egress-proxy", f"http://$({POD_IP_ENV}):{EGRESS_PROXY_PORT}"),
)
SECURITY_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}


def _env(template: RouterTemplate) -> list[dict[str, Any]]:
    return [
        *({"name": name, "value": value} for name, value in template.env),
        {"name": "HOME", "value": "/tmp"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]


def _egress_proxy_container(app: RouterApp, template: RouterTemplate) -> dict[str, Any]:
    return {
        "name": EGRESS_PROXY_CONTAINER,
        "image": template.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["lunora-operator"],
        "args": [
            *("egress-proxy", "--namespace", app.namespace, "--app", app.name, "--app-uid", app.uid),
            *("--listen", f"0.0.0.0:{EGRESS_PROXY_PORT}", "--control", f"127.0.0.1:{EGRESS_CONTROL_PORT}"),
            *("--health", f"0.0.0.0:{EGRESS_HEALTH_PORT}"),
            # the router's API, through its Service: never an instance's destination
            *("--refuse-host", f"{app.object_name}.{app.namespace}.svc", *template.egress_proxy_args),
        ],
        "env": _env(template),
        "ports": [
            {"name": EGRESS_PROXY_PORT_NAME, "containerPort": EGRESS_PROXY_PORT, "protocol": "TCP"},
            {"name": EGRESS_HEALTH_PORT_NAME, "containerPort": EGRESS_HEALTH_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": EGRESS_HEALTH_PORT_NAME},
            "periodSeconds": 2,
            "failureThreshold": 3,
        },
        "resources": copy.deepcopy(RESOURCES),
        "securityContext": copy.deepcopy(SECURITY_CONTEXT),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _pod_spec(app: RouterApp, template: RouterTemplate) -> dict[str, Any]:
    pull_secrets = list(
        dict.fromkeys([*template.pull_secrets, *([app.pull_secret] if app.pull_secret else [])])
    )
    container: dict[str, Any] = {
        "name": "router",
        "image": template.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["lunora-operator"],
        "args": [*_router_args(app), *ROUTER_EGRESS_ARGS, *_exec_args(template)],
        "env": [
            *_env(template),
            {"name": POD_IP_ENV, "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        ],
        "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": HEALTH_PATH, "port": PORT_NAME},
            "periodSeconds": 2,
            "failureThreshold": 3,
        },
        "resources": copy.deepcopy(RESOURCES),
        "securityContext": copy.deepcopy(SECURITY_CONTEXT),
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
        "containers": [container, _egress_proxy_container(app, template)],
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


def network_policy(app: RouterApp, template: RouterTemplate) -> dict[str, Any]:
    """The app's instance Pods may connect to the proxy port of its router Pods (and to DNS, where
    the template names it), nowhere else."""
    policy = EgressPolicy(
        namespace=app.namespace,
        app=app.name,
        proxy=Peer(ports=(EGRESS_PROXY_PORT,), pod_labels=selector(app)),
        dns=template.egress_dns,
        owner=PolicyOwner(API_VERSION, "LunoraApp", app.name, app.uid),
        labels={
            "app.kubernetes.io/name": "lunora-instance-egress",
            "app.kubernetes.io/managed-by": MANAGED_BY,
        },
        app_label=names.label_value(app.name),
    )
    return instance_network_policy(policy)


def router_objects(app: RouterApp, template: RouterTemplate) -> list[dict[str, Any]]:
    """In the order they are created: the identity and its rights before the Pod that uses them,
    the instances' NetworkPolicy before the router that starts instances."""
    return [
        service_account(app),
        role(app, template),
        role_binding(app),
        service(app),
        network_policy(app, template),
        deployment(app, template),
    ]
