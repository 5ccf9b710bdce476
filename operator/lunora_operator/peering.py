"""One active operator per namespace: `lunora-operator run` joins a kopf peering by default, so a
second process started on the same namespaces (a second replica, a local run against the
cluster) pauses instead of reconciling the same objects twice.

kopf keeps each process's priority and keep-alive in the peering object's status and pauses
every process that sees a live peer with a higher (or the same) priority. By default the
priority comes from the start time, so the process already working stays active and a newcomer
waits behind it; when the active one stops it removes itself and the next takes over at once
(after a crash, once its keep-alive has expired: 60 s).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kubernetes import client
from kubernetes.client.exceptions import ApiException

logger = logging.getLogger(__name__)

GROUP = "kopf.dev"
VERSION = "v1"
DEFAULT_PEERING = "lunora-operator"
GLOB_CHARACTERS = frozenset("*?[")


class PeeringUnavailable(RuntimeError):
    """The peering cannot be joined; the text says what to install or allow."""


def start_time_priority(started: float) -> int:
    """The earlier a process started, the higher its priority (milliseconds, negated): an
    explicit `--priority` of 0 or more beats every process that did not set one."""
    return -int(started * 1000)


def ensure_peering_objects(
    api: client.ApiClient, name: str, namespaces: Sequence[str], clusterwide: bool
) -> None:
    """Creates the peering object kopf patches (a ClusterKopfPeering for a cluster-wide operator,
    a KopfPeering in each namespace otherwise); one that exists is left as it is. Namespace
    patterns cannot be resolved here: their objects must be created beforehand."""
    custom = client.CustomObjectsApi(api)
    kind = "ClusterKopfPeering" if clusterwide else "KopfPeering"
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}}
    places: list[str | None] = [None] if clusterwide else list(namespaces)
    for namespace in places:
        if namespace is not None and GLOB_CHARACTERS & set(namespace):
            logger.warning(
                'create KopfPeering "%s" in each namespace matching %s; until it exists there, the operator '
                "waits in those namespaces",
                name,
                namespace,
            )
            continue
        try:
            if namespace is None:
                custom.create_cluster_custom_object(GROUP, VERSION, "clusterkopfpeerings", body)
            else:
                custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "kopfpeerings", body)
        except ApiException as error:
            if error.status == 409:
                continue
            where = "cluster-wide" if namespace is None else f"in namespace {namespace}"
            if error.status == 404:
                raise PeeringUnavailable(
                    f"cannot create {kind} {name!r} {where}: the peering CRDs (kopfpeerings.kopf.dev, "
                    "clusterkopfpeerings.kopf.dev) are not installed"
                    + ("" if namespace is None else " or the namespace does not exist")
                    + ". Install crds/kopf/peering.yaml, or run a single process with --standalone"
                ) from None
            if error.status == 403 and _exists(custom, name, namespace):
                continue
            if error.status == 403:
                raise PeeringUnavailable(
                    f"cannot create {kind} {name!r} {where}: the operator may not create {kind} objects; "
                    "grant it create, get, list, watch and patch on them, or create the object beforehand"
                ) from None
            raise PeeringUnavailable(
                f"cannot create {kind} {name!r} {where}: {error.status} {error.reason}"
            ) from None


def _exists(custom: client.CustomObjectsApi, name: str, namespace: str | None) -> bool:
    try:
        if namespace is None:
            custom.get_cluster_custom_object(GROUP, VERSION, "clusterkopfpeerings", name)
        else:
            custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "kopfpeerings", name)
    except ApiException:
        return False
    return True
