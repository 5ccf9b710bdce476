"""The NetworkPolicy enforcer of the test environment (kube-network-policies, started by
`make testenv-up`), as the tests observe it: its nftables table."""

from __future__ import annotations

import json
import subprocess
from typing import Any

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
