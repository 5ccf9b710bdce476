"""`LunoraContainer.status.egress` in local mode: the decision counts the app's egress proxy keeps
for the container's running instances. The proxy's control API listens on its Pod's loopback
only, so the operator asks the router beside it (`GET /_api/containers/<c>/egress`), at a ready
router Pod's IP: a Pod answers for the proxy next to it, and the app runs one router replica.

Counts are a nicety: when no router Pod is ready or it does not answer, the pass keeps what the
status said (None here), so a router restart neither fails the pass nor flaps a condition."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import aiohttp

from lunora_operator import router_routes as routes
from lunora_operator.api.status import MAX_HOST, RECENTLY_DENIED, EgressStatus
from lunora_operator.kube.gateway import KubeUnavailable
from lunora_operator.kube.objects import POD, Objects
from lunora_operator.local import names
from lunora_operator.local.router_objects import PORT

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 3.0


class RouterEgress(Protocol):
    """The egress counts of a container of an app, as its router answers them."""

    async def summary(self, namespace: str, app: str, container: str) -> EgressStatus | None:
        """None when they cannot be known now."""
        ...


class NoRouterEgress:
    """Routers run outside the cluster (or not at all): no counts."""

    async def summary(self, namespace: str, app: str, container: str) -> EgressStatus | None:
        return None


def egress_status(body: Any) -> EgressStatus | None:
    """The router's answer as the status holds it; None for one that is not the counts. Hosts too
    long for the schema are left out, so one odd request cannot make the status write fail."""
    if not isinstance(body, Mapping):
        return None
    counts = [body.get(key) for key in ("allowed", "denied", "instances")]
    if not all(isinstance(count, int) and not isinstance(count, bool) and count >= 0 for count in counts):
        return None
    hosts = body.get("recentlyDenied")
    if not isinstance(hosts, list):
        return None
    kept = [host for host in hosts if isinstance(host, str) and 0 < len(host) <= MAX_HOST]
    allowed, denied, instances = counts
    return EgressStatus(
        allowed=allowed, denied=denied, instances=instances, recently_denied=kept[-RECENTLY_DENIED:]
    )


def ready_router_ip(pods: Sequence[Mapping[str, Any]]) -> str | None:
    """The IP of a router Pod that serves (Ready, not being deleted), the first by name."""
    for pod in sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name"))):
        metadata, status = pod.get("metadata") or {}, pod.get("status") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
        )
        if ready and status.get("podIP") and not metadata.get("deletionTimestamp"):
            return str(status["podIP"])
    return None


class PodRouterEgress:
    """Asks a ready router Pod of the app, at its IP: the operator reaches Pods directly, and a
    Pod's IP does not depend on Service networking."""

    def __init__(self, objects: Objects, timeout: float = TIMEOUT_SECONDS, port: int = PORT) -> None:
        self.objects = objects
        self.timeout = timeout
        self.port = port

    async def summary(self, namespace: str, app: str, container: str) -> EgressStatus | None:
        try:
            ip = ready_router_ip(await self.objects.list(POD, namespace, names.router_selector(app)))
        except KubeUnavailable as error:
            logger.debug("egress counts of %s/%s: router Pods not listed: %s", namespace, container, error)
            return None
        if ip is None:
            logger.debug("egress counts of %s/%s: no router Pod is ready", namespace, container)
            return None
        url = f"http://{ip}:{self.port}{routes.container_egress_path(container)}"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session,
                session.get(url) as response,
            ):
                if response.status != 200:
                    logger.debug(
                        "egress counts of %s/%s: %s answered %s", namespace, container, url, response.status
                    )
                    return None
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as error:
            logger.debug("egress counts of %s/%s: %s: %s", namespace, container, url, type(error).__name__)
            return None
        return egress_status(body)
