"""What a handle needs from a backend: the local-mode router, a deployed gateway, or the test double.

Three channels, mirroring what a Lunora handle reaches on a Container Durable Object stub:
`fetch` (a request proxied to the instance), `exec` (the exec contract, never reachable through
`fetch`) and `call` (a lifecycle or egress method, forwarded to the same-named DO method). A backend that can
place instances in a jurisdiction also has `jurisdiction(name) -> Transport`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import httpx

from lunora_operator.client.wire import JsonValue

# The DO methods a named instance forwards to, by their Durable Object names.
LifecycleMethod = Literal[
    "start",
    "stop",
    "destroy",
    "getState",
    "renewActivityTimeout",
    "allowHost",
    "denyHost",
    "removeAllowedHost",
    "removeDeniedHost",
    "setAllowedHosts",
    "setDeniedHosts",
]


@dataclass(frozen=True)
class InstanceTarget:
    """One instance: the container's export name and the instance name (`.get(name)` or `pool-<i>`)."""

    container: str
    instance: str


class Transport(Protocol):
    async def fetch(self, target: InstanceTarget, request: httpx.Request) -> httpx.Response:
        """Proxy `request` (URL on the internal origin; only its path and query matter) to the instance.

        The response may be streaming; the caller reads or closes it.
        """
        ...

    async def exec(self, target: InstanceTarget, request: httpx.Request) -> httpx.Response:
        """Serve the exec contract: `request` is `POST /__lunora/exec` with the JSON body and port header."""
        ...

    async def call(self, target: InstanceTarget, method: LifecycleMethod, argument: JsonValue) -> JsonValue:
        """Run a lifecycle or egress method; `argument` is None when the method takes none.

        Raises `LifecycleNotExposed` when the backend does not serve `method`.
        """
        ...

    async def aclose(self) -> None: ...
