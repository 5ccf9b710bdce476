"""`lunora-operator status`: whether an installation works — the CRDs are served and one
operator process of the peering is active (holds the write lease). The chart's `helm test` Pod
runs it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lunora_operator.peering import GLOB_CHARACTERS, GROUP, VERSION, describe_peers

CRDS = ("lunoracontainers.lunora.sh", "lunoraapps.lunora.sh")


def _established(crd: object) -> bool:
    conditions = getattr(getattr(crd, "status", None), "conditions", None) or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)


def check_installation(
    api: client.ApiClient, peering: str | None, places: Sequence[str | None]
) -> tuple[list[str], bool]:
    """(lines to print, healthy). `places`: None for the cluster-wide peering, else namespaces."""
    lines: list[str] = []
    healthy = True
    served = {
        crd.metadata.name: crd
        for crd in client.ApiextensionsV1Api(api).list_custom_resource_definition().items
        if crd.metadata is not None and crd.metadata.name in CRDS
    }
    for name in CRDS:
        crd = served.get(name)
        if crd is None or not _established(crd):
            healthy = False
            lines.append(f"CRD {name}: {'not established' if crd else 'missing'}")
        else:
            lines.append(f"CRD {name}: established")
    if peering is None:
        return lines, healthy
    custom = client.CustomObjectsApi(api)
    for namespace in places:
        where = "cluster-wide" if namespace is None else f"in namespace {namespace}"
        if namespace is not None and GLOB_CHARACTERS & set(namespace):
            lines.append(f"peering {peering!r} {where}: a pattern; not checked")
            continue
        try:
            body = (
                custom.get_cluster_custom_object(GROUP, VERSION, "clusterkopfpeerings", peering)
                if namespace is None
                else custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "kopfpeerings", peering)
            )
        except ApiException as error:
            healthy = False
            lines.append(f"peering {peering!r} {where}: cannot read it ({error.status} {error.reason})")
            continue
        peers = describe_peers(cast(Mapping[str, Any], body))
        active = [peer for peer in peers if peer.alive and peer.holds_lease]
        lines.append(
            f"peering {peering!r} {where}: "
            + (f"active process {active[0].identity}" if active else "no active operator process")
        )
        for peer in peers:
            state = "active" if peer.alive and peer.holds_lease else ("standby" if peer.alive else "gone")
            lines.append(
                f"  {peer.identity}: {state}, priority {peer.priority}, "
                f"keep-alive {peer.seconds_since_keepalive:.0f}s ago"
            )
        healthy = healthy and bool(active)
    return lines, healthy
