"""A test double for `Containers`: a handler per container plays it. No cluster, no network.

```python
containers = ContainerTestDouble({"transcoder": lambda request, instance: httpx.Response(200, text="ok")})
response = await containers["transcoder"].get("video-42").fetch("/transcode")
```

The handles are the real ones over an in-memory transport, so code under test cannot tell the
difference. As Lunora's double does, it retries nothing (`attempts=1`) so a handler's own 5xx is
answered once, and `.any()` / `.pool()` always reach `pool-0`. `exec` reaches the handler as
`POST /__lunora/exec` with the JSON body. Lifecycle and egress calls are recorded in `calls` and
otherwise inert (`get_state()` answers `{"lastChange": 0}`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from lunora_operator.client.containers import Containers
from lunora_operator.client.handles import (
    ContainerAccessor,
    ContainerHandle,
    InstanceHandle,
    Wiring,
    check_instance_name,
)
from lunora_operator.client.retry import cold_start_policy
from lunora_operator.client.transport import InstanceTarget, LifecycleMethod
from lunora_operator.client.wire import JsonValue


@dataclass(frozen=True)
class Instance:
    """The instance a handler's request reached."""

    name: str


Handler = Callable[[httpx.Request, Instance], httpx.Response | Awaitable[httpx.Response]]


@dataclass(frozen=True)
class LifecycleCall:
    container: str
    instance: str
    method: LifecycleMethod
    argument: JsonValue


class DoubleTransport:
    """Runs each request through its container's handler."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self.handlers = dict(handlers)
        self.calls: list[LifecycleCall] = []

    async def fetch(self, target: InstanceTarget, request: httpx.Request) -> httpx.Response:
        await request.aread()  # a handler sees a readable request, as a server would
        answer = self.handlers[target.container](request, Instance(target.instance))
        response = await answer if inspect.isawaitable(answer) else answer
        response.request = request
        return response

    async def exec(self, target: InstanceTarget, request: httpx.Request) -> httpx.Response:
        return await self.fetch(target, request)

    async def call(self, target: InstanceTarget, method: LifecycleMethod, argument: JsonValue) -> JsonValue:
        self.calls.append(LifecycleCall(target.container, target.instance, method, argument))
        return {"lastChange": 0} if method == "getState" else None

    async def aclose(self) -> None:
        return None


class _DoubleAccessor(ContainerAccessor):
    def get(self, name: str, **_: Any) -> InstanceHandle:
        check_instance_name(self._label, name)
        return InstanceHandle(
            self._wiring, InstanceTarget(self.container, name), self._label, cold_start_policy(1)
        )

    def any(self, count: int | None = None, **_: Any) -> ContainerHandle:
        return ContainerHandle(
            self._wiring, InstanceTarget(self.container, "pool-0"), self._label, cold_start_policy(1)
        )

    def pool(self, **_: Any) -> ContainerHandle:  # type: ignore[override]
        return ContainerHandle(
            self._wiring,
            InstanceTarget(self.container, "pool-0"),
            f"{self._label}.pool()",
            cold_start_policy(1),
        )


class ContainerTestDouble(Containers):
    """`Containers` whose containers are `handlers` (export name -> handler(request, instance))."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self.double = DoubleTransport(handlers)
        super().__init__(transport=self.double, known=handlers.keys())

    @property
    def calls(self) -> list[LifecycleCall]:
        """Every lifecycle and egress call, in order."""
        return self.double.calls

    def _accessor(self, wiring: Wiring, container: str, max_instances: int | None) -> ContainerAccessor:
        return _DoubleAccessor(wiring, container, max_instances)
