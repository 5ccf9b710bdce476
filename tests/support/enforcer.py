"""The NetworkPolicy enforcer of the test environment (kube-network-policies, started by
`make testenv-up`), as the tests observe it: its nftables table."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from kubernetes import client

from tests.support.kube import KubeClients

NETWORK_POLICIES_TABLE = "kube-network-policies"


def nft_list(*what: str) -> list[dict[str, Any]]:
    result = subprocess.run(["nft", "-j", "list", *what], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(
            f"the NetworkPolicy enforcer's table is missing (make testenv-up): {result.stderr}"
        )
    items: list[dict[str, Any]] = json.loads(result.stdout)["nftables"]
    return items


def nft_pod_ips() -> set[str]:
    """The Pod addresses the enforcer diverts to its queue now (the Pods some policy selects)."""
    elements: set[str] = set()
    for item in nft_list("set", "inet", NETWORK_POLICIES_TABLE, "podips-v4"):
        if "set" in item:
            elements.update(e for e in item["set"].get("elem", []) if isinstance(e, str))
    return elements


def allow_replies_to_router(kube: KubeClients, namespace: str, app: str) -> None:
    """A NetworkPolicy letting the app's instance Pods send anything to its router Pods.

    NetworkPolicies are stateful: the replies of a connection a policy allows are allowed. This
    enforcer keeps that state as a conntrack label set with its verdict, which this machine's
    kernel ignores (CONFIG_NETFILTER_NETLINK_GLUE_CT is unset), so it judges a reply like a new
    packet: an instance's answer to the router's request counts as the instance's egress to the
    router's ephemeral port, and the app's policy drops it as soon as the enforcer selects the
    instance. This policy stands in for the missing state; it opens nothing but the router Pods,
    so a connection that ignores the egress proxy is still dropped."""
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{app}-test-replies-to-router"},
        "spec": {
            "podSelector": {"matchLabels": {"lunora.sh/app": app, "lunora.sh/role": "instance"}},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"podSelector": {"matchLabels": {"lunora.sh/app": app, "lunora.sh/role": "router"}}}]}
            ],
        },
    }
    client.NetworkingV1Api(kube.api).create_namespaced_network_policy(namespace, body)
