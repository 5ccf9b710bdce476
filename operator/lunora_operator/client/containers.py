"""`Containers`: the entry point, `containers["transcoder"]` -> an accessor."""

from __future__ import annotations

import random as random_module
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType

import httpx

from lunora_operator.client.clock import SYSTEM_CLOCK, Clock
from lunora_operator.client.handles import ContainerAccessor, MissingAccessor, Wiring
from lunora_operator.client.request import RequestContext
from lunora_operator.client.router import RouterTransport
from lunora_operator.client.transport import Transport

JURISDICTIONS = ("eu", "fedramp", "us")


def in_jurisdiction(transport: Transport, jurisdiction: str) -> Transport:
    """The backend restricted to `jurisdiction`, through its own `jurisdiction()`; fail closed without one."""
    if jurisdiction not in JURISDICTIONS:
        raise TypeError(f"Containers: jurisdiction {jurisdiction!r} is not one of {', '.join(JURISDICTIONS)}")
    derive = getattr(transport, "jurisdiction", None)
    if not callable(derive):
        raise TypeError(
            f"Containers: the {type(transport).__name__} backend does not support jurisdiction "
            f"{jurisdiction!r}; its instances could run outside it. Drop `jurisdiction` for local mode."
        )
    restricted: Transport = derive(jurisdiction)
    return restricted


class Containers:
    """Containers reached through the local-mode router at `base_url` (or through `transport`).

    - `max_instances`: each container's `maxInstances`, the default size of `.any()` / `.pool()`
      (else 3).
    - `known`: the container names this client may use; any other name gives an accessor whose
      every use raises (unset: every name is passed on to the backend).
    - `traceparent`, `sample_errors`: sent on every request (`traceparent`, `x-lunora-sample-errors`).
    - `clock`, `random`: what retries wait on and what picks pool instances (tests inject both).
    - `jurisdiction` (`"eu"`, `"fedramp"`, `"us"`): every instance in that jurisdiction; a backend
      that cannot place instances there refuses at construction rather than running them elsewhere.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        transport: Transport | None = None,
        client: httpx.AsyncClient | None = None,
        headers: Mapping[str, str] | None = None,
        max_instances: Mapping[str, int] | None = None,
        known: Iterable[str] | None = None,
        traceparent: str | None = None,
        sample_errors: bool | None = None,
        clock: Clock = SYSTEM_CLOCK,
        random: Callable[[], float] = random_module.random,
        jurisdiction: str | None = None,
    ) -> None:
        if (base_url is None) == (transport is None):
            raise TypeError("Containers: give either `base_url` (the router's URL) or `transport`, not both")
        if transport is None:
            assert base_url is not None
            transport = RouterTransport(base_url, client=client, headers=headers)
        if jurisdiction is not None:
            transport = in_jurisdiction(transport, jurisdiction)
        self.transport = transport
        self._wiring = Wiring(transport, clock, RequestContext(traceparent, sample_errors), random)
        self._max_instances = dict(max_instances or {})
        self._known = None if known is None else frozenset(known)

    def __getitem__(self, container: str) -> ContainerAccessor:
        if not isinstance(container, str) or not container:
            raise KeyError(f"Containers: a container is named by its export name, got {container!r}")
        if self._known is not None and container not in self._known:
            return MissingAccessor(self._wiring, container, self._known)
        return self._accessor(self._wiring, container, self._max_instances.get(container))

    def _accessor(self, wiring: Wiring, container: str, max_instances: int | None) -> ContainerAccessor:
        return ContainerAccessor(wiring, container, max_instances)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> Containers:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()
