"""The NetworkPolicy that leaves an app's instance Pods one way out: their egress proxy (and
DNS, where the cluster has it). Ingress is not restricted: the router must reach instances."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lunora_operator.local.egress.annotations import APP_LABEL, INSTANCE_ROLE, ROLE_LABEL


@dataclass(frozen=True)
class Peer:
    """Where instances may connect: Pods chosen by labels (optionally in other namespaces) or an
    address block (a proxy on the node, outside the Pod network)."""

    ports: tuple[int, ...]
    pod_labels: Mapping[str, str] | None = None
    namespace_labels: Mapping[str, str] | None = None
    cidr: str | None = None
    protocols: tuple[str, ...] = ("TCP",)

    def __post_init__(self) -> None:
        if (self.pod_labels is None) == (self.cidr is None):
            raise ValueError("a peer is either pod_labels (with optional namespace_labels) or a cidr")
        if self.cidr is not None:
            ipaddress.ip_network(self.cidr)  # raises ValueError naming the bad value
        if not self.ports or not all(1 <= port <= 65535 for port in self.ports):
            raise ValueError(f"peer ports must be 1–65535, got {self.ports}")

    def rule(self) -> dict[str, Any]:
        if self.cidr is not None:
            to: dict[str, Any] = {"ipBlock": {"cidr": self.cidr}}
        else:
            to = {"podSelector": {"matchLabels": dict(self.pod_labels or {})}}
            if self.namespace_labels is not None:
                to["namespaceSelector"] = {"matchLabels": dict(self.namespace_labels)}
        return {
            "to": [to],
            "ports": [
                {"protocol": protocol, "port": port} for port in self.ports for protocol in self.protocols
            ],
        }


# kube-dns / CoreDNS as kubeadm and kind install it.
KUBE_DNS = Peer(
    ports=(53,),
    pod_labels={"k8s-app": "kube-dns"},
    namespace_labels={"kubernetes.io/metadata.name": "kube-system"},
    protocols=("UDP", "TCP"),
)

DEFAULT_DNS = "kube-system/k8s-app=kube-dns"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def dns_peer(text: str) -> Peer | None:
    """`NAMESPACE/KEY=VALUE[,KEY=VALUE…]` (the DNS server Pods: their namespace and labels), or
    `none` for a cluster without DNS the instances should use."""
    if text.strip().lower() == "none":
        return None
    namespace, slash, selector = text.partition("/")
    terms = [term.partition("=") for term in selector.split(",")] if selector else []
    if not slash or not namespace or not terms or any(not key or not eq for key, eq, _ in terms):
        raise ValueError(f"DNS must be NAMESPACE/KEY=VALUE[,KEY=VALUE...] or none, not {text!r}")
    return Peer(
        ports=(53,),
        pod_labels={key: value for key, _, value in terms},
        namespace_labels={NAMESPACE_NAME_LABEL: namespace},
        protocols=("UDP", "TCP"),
    )


@dataclass(frozen=True)
class PolicyOwner:
    api_version: str
    kind: str
    name: str
    uid: str


@dataclass(frozen=True)
class EgressPolicy:
    namespace: str
    app: str
    proxy: Peer
    dns: Peer | None = None
    owner: PolicyOwner | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    app_label: str = ""
    """The app's label value on its Pods (the router's, shortened past 63 characters); the app's
    name when empty."""

    def __post_init__(self) -> None:
        if not self.app_label:
            object.__setattr__(self, "app_label", self.app)


def policy_name(app: str) -> str:
    return f"{app}-instance-egress"


def instance_network_policy(policy: EgressPolicy) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": policy_name(policy.app),
        "namespace": policy.namespace,
        "labels": {APP_LABEL: policy.app_label, **policy.labels},
    }
    if policy.owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": policy.owner.api_version,
                "kind": policy.owner.kind,
                "name": policy.owner.name,
                "uid": policy.owner.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    egress = [policy.proxy.rule()]
    if policy.dns is not None:
        egress.append(policy.dns.rule())
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata,
        "spec": {
            "podSelector": {"matchLabels": {APP_LABEL: policy.app_label, ROLE_LABEL: INSTANCE_ROLE}},
            "policyTypes": ["Egress"],
            "egress": egress,
        },
    }
