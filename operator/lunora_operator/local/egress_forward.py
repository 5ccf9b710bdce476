"""The runtime egress calls of an instance handle (`allowHost`, `denyHost`, `removeAllowedHost`,
`removeDeniedHost`, `setAllowedHosts`, `setDeniedHosts`), forwarded to the app's egress proxy, and a
container's egress decision counts read from it.

The proxy keeps runtime rules per instance Pod (by its UID) and applies them to the next request;
they last as long as the Pod, so a call needs a running instance. Its control API:
`POST <control>/v1/instances/<pod uid>/egress/<op>` with `{"host"}` or `{"hosts"}`, and
`GET <control>/v1/containers/<container label>/egress` for the counts. A router
without an egress proxy answers 501, which a client reads as "does not expose this method".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from lunora_operator.local.errors import ApiProblem
from lunora_operator.local.instance import Instance

# Durable Object method -> (control API op, the argument's key on the router, on the proxy).
OPERATIONS: dict[str, tuple[str, str, str]] = {
    "allowHost": ("allow", "hostname", "host"),
    "denyHost": ("deny", "hostname", "host"),
    "removeAllowedHost": ("remove_allowed", "hostname", "host"),
    "removeDeniedHost": ("remove_denied", "hostname", "host"),
    "setAllowedHosts": ("set_allowed", "hosts", "hosts"),
    "setDeniedHosts": ("set_denied", "hosts", "hosts"),
}
# A Pod the router has just created is known by its UID once the watch reports it.
UID_WAIT_SECONDS = 5.0
ERROR_TEXT_LIMIT = 512


def no_proxy(method: str) -> ApiProblem:
    return ApiProblem(
        501,
        "NOT_IMPLEMENTED",
        f"{method}() is not served: this router has no egress proxy (start it with --egress-control URL, "
        "the proxy's control address)",
    )


def proxy_body(method: str, body: dict[str, Any]) -> dict[str, Any]:
    """The control API's body for `method`, checked; raises a 400 for a bad argument."""
    _, key, proxy_key = OPERATIONS[method]
    value = body.get(key)
    if key == "hostname":
        if not isinstance(value, str) or not value:
            raise ApiProblem(400, "BAD_REQUEST", f"{method}: `hostname` must be a non-empty string")
    elif not isinstance(value, list) or not all(isinstance(host, str) and host for host in value):
        raise ApiProblem(400, "BAD_REQUEST", f"{method}: `hosts` must be a list of non-empty strings")
    return {proxy_key: value}


@dataclass
class EgressControl:
    """The egress proxy's control API at `base_url`."""

    base_url: str
    session: aiohttp.ClientSession

    async def change(self, instance: Instance, method: str, body: dict[str, Any]) -> None:
        payload = proxy_body(method, body)
        uid = await _pod_uid(instance, method)
        url = f"{self.base_url.rstrip('/')}/v1/instances/{quote(uid, safe='')}/egress/{OPERATIONS[method][0]}"
        try:
            async with self.session.post(url, json=payload) as response:
                if response.status < 300:
                    return
                text = (await response.content.read(ERROR_TEXT_LIMIT)).decode(errors="replace").strip()
        except (aiohttp.ClientError, OSError) as error:
            raise ApiProblem(
                502,
                "INTERNAL",
                f"{method}: the egress proxy at {self.base_url} did not answer ({type(error).__name__})",
            ) from None
        if response.status == 400:
            raise ApiProblem(400, "BAD_REQUEST", f"{method}: {text}")
        if response.status == 404:
            raise ApiProblem(
                409, "CONFLICT", f"{method}: the egress proxy does not know this instance's Pod yet: {text}"
            )
        raise ApiProblem(502, "INTERNAL", f"{method}: the egress proxy answered {response.status}: {text}")

    async def summary(self, container_label: str) -> dict[str, Any]:
        """The decision counts of the container's running instances (as its Pods' container label
        names it): `{allowed, denied, instances, recentlyDenied}`."""
        url = f"{self.base_url.rstrip('/')}/v1/containers/{quote(container_label, safe='')}/egress"
        try:
            async with self.session.get(url) as response:
                if response.status == 200:
                    body = await response.json()
                    if isinstance(body, dict):
                        return body
                    text = "not a JSON object"
                else:
                    text = (await response.content.read(ERROR_TEXT_LIMIT)).decode(errors="replace").strip()
        except (aiohttp.ClientError, OSError, ValueError) as error:
            raise ApiProblem(
                502,
                "INTERNAL",
                f"the egress proxy at {self.base_url} did not answer ({type(error).__name__})",
            ) from None
        raise ApiProblem(502, "INTERNAL", f"the egress proxy answered {response.status}: {text}")


async def _pod_uid(instance: Instance, method: str) -> str:
    deadline = asyncio.get_running_loop().time() + UID_WAIT_SECONDS
    while True:
        pod = instance.pod
        if pod is None or not pod.live:
            raise ApiProblem(
                409,
                "CONFLICT",
                f"{method}: instance {instance.id!r} is not running; runtime egress rules belong to a running "
                "instance (they last as long as its Pod): start() it first",
            )
        if pod.uid:
            return pod.uid
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise ApiProblem(
                409, "CONFLICT", f"{method}: Pod {pod.name} is not known to the router's watch yet"
            )
        await instance.changed(remaining)
