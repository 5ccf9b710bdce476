from __future__ import annotations

import pytest

from lunora_operator.local.egress.network_policy import (
    DEFAULT_DNS,
    KUBE_DNS,
    EgressPolicy,
    Peer,
    PolicyOwner,
    dns_peer,
    instance_network_policy,
)


def test_a_proxy_on_the_node_and_no_dns() -> None:
    policy = instance_network_policy(EgressPolicy("ns", "demo", Peer(ports=(3128,), cidr="10.244.0.1/32")))
    assert policy == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "demo-instance-egress", "namespace": "ns", "labels": {"lunora.sh/app": "demo"}},
        "spec": {
            "podSelector": {"matchLabels": {"lunora.sh/app": "demo", "lunora.sh/role": "instance"}},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"ipBlock": {"cidr": "10.244.0.1/32"}}], "ports": [{"protocol": "TCP", "port": 3128}]}
            ],
        },
    }


def test_a_proxy_pod_dns_and_an_owner() -> None:
    proxy = Peer(ports=(3128,), pod_labels={"lunora.sh/egress-proxy": "demo"})
    owner = PolicyOwner("lunora.sh/v1alpha1", "LunoraApp", "demo", "uid-1")
    policy = instance_network_policy(EgressPolicy("ns", "demo", proxy, dns=KUBE_DNS, owner=owner))
    assert policy["spec"]["egress"] == [
        {
            "to": [{"podSelector": {"matchLabels": {"lunora.sh/egress-proxy": "demo"}}}],
            "ports": [{"protocol": "TCP", "port": 3128}],
        },
        {
            "to": [
                {
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
    ]
    assert policy["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "lunora.sh/v1alpha1",
            "kind": "LunoraApp",
            "name": "demo",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    # Ingress stays open: the router must reach its instances.
    assert policy["spec"]["policyTypes"] == ["Egress"]


@pytest.mark.parametrize(
    ("peer", "message"),
    [
        ({"ports": (3128,)}, "either pod_labels"),
        ({"ports": (3128,), "cidr": "10.0.0.1/32", "pod_labels": {"a": "b"}}, "either pod_labels"),
        ({"ports": (3128,), "cidr": "10.0.0.300/32"}, "does not appear to be an IPv4 or IPv6 network"),
        ({"ports": (0,), "cidr": "10.0.0.1/32"}, "ports must be 1–65535"),
    ],
)
def test_a_bad_peer_is_refused(peer: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        Peer(**peer)


def test_dns_from_its_namespace_and_labels() -> None:
    assert dns_peer(DEFAULT_DNS) == KUBE_DNS
    peer = dns_peer("openshift-dns/dns.operator.openshift.io/daemonset-dns=default,app=dns")
    assert peer is not None
    assert peer.namespace_labels == {"kubernetes.io/metadata.name": "openshift-dns"}
    assert peer.pod_labels == {"dns.operator.openshift.io/daemonset-dns": "default", "app": "dns"}
    assert dns_peer("none") is None
    assert dns_peer("None") is None


@pytest.mark.parametrize(
    "text", ["", "kube-system", "kube-system/", "/k8s-app=kube-dns", "ns/k8s-app", "ns/a=b,"]
)
def test_dns_that_names_no_pods_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="DNS must be NAMESPACE/KEY=VALUE"):
        dns_peer(text)
