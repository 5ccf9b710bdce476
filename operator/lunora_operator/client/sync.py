"""A thin blocking wrapper: the async client run on an event loop in a background thread."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from lunora_operator.client.containers import Containers
from lunora_operator.client.exec import ExecResult
from lunora_operator.client.handles import ContainerAccessor, ContainerHandle, InstanceHandle, PoolHandle
from lunora_operator.client.request import Content, HeaderInput, RequestInput


class SyncHandle:
    """`fetch` (the body read), `exec`, `port`, blocking."""

    def __init__(self, portal: BlockingPortal, handle: ContainerHandle | PoolHandle) -> None:
        self._portal = portal
        self._handle = handle

    def fetch(
        self,
        path_or_request: RequestInput,
        *,
        method: str = "GET",
        headers: HeaderInput = None,
        content: bytes | str | None = None,
    ) -> httpx.Response:
        body: Content = content
        return self._portal.call(
            partial(self._handle.fetch, path_or_request, method=method, headers=headers, content=body)
        )

    def exec(
        self,
        command: str,
        *,
        args: Sequence[str] | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout_ms: float | None = None,
        max_output_bytes: int | None = None,
    ) -> ExecResult:
        return self._portal.call(
            partial(
                self._handle.exec,
                command,
                args=args,
                cwd=cwd,
                env=env,
                timeout_ms=timeout_ms,
                max_output_bytes=max_output_bytes,
            )
        )

    def port(self, port: int) -> SyncHandle:
        return SyncHandle(self._portal, self._handle.port(port))


class SyncEgress:
    def __init__(self, portal: BlockingPortal, handle: InstanceHandle) -> None:
        self._portal = portal
        self._egress = handle.egress

    def allow(self, hostname: str) -> None:
        self._portal.call(self._egress.allow, hostname)

    def deny(self, hostname: str) -> None:
        self._portal.call(self._egress.deny, hostname)

    def remove_allowed(self, hostname: str) -> None:
        self._portal.call(self._egress.remove_allowed, hostname)

    def remove_denied(self, hostname: str) -> None:
        self._portal.call(self._egress.remove_denied, hostname)

    def set_allowed(self, hosts: Iterable[str]) -> None:
        self._portal.call(self._egress.set_allowed, list(hosts))

    def set_denied(self, hosts: Iterable[str]) -> None:
        self._portal.call(self._egress.set_denied, list(hosts))


class SyncInstanceHandle(SyncHandle):
    def __init__(self, portal: BlockingPortal, handle: InstanceHandle) -> None:
        super().__init__(portal, handle)
        self._instance = handle
        self.egress = SyncEgress(portal, handle)

    @property
    def name(self) -> str:
        return self._instance.name

    def start(
        self,
        *,
        env_vars: Mapping[str, str] | None = None,
        entrypoint: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        enable_internet: bool | None = None,
    ) -> None:
        self._portal.call(
            partial(
                self._instance.start,
                env_vars=env_vars,
                entrypoint=entrypoint,
                labels=labels,
                enable_internet=enable_internet,
            )
        )

    def stop(self, signal: int | str | None = None) -> None:
        self._portal.call(self._instance.stop, signal)

    def destroy(self) -> None:
        self._portal.call(self._instance.destroy)

    def get_state(self) -> dict[str, Any]:
        return self._portal.call(self._instance.get_state)

    def renew_activity_timeout(self) -> None:
        self._portal.call(self._instance.renew_activity_timeout)


class SyncAccessor:
    def __init__(self, portal: BlockingPortal, accessor: ContainerAccessor) -> None:
        self._portal = portal
        self._accessor = accessor

    def get(self, name: str, **retry: Any) -> SyncInstanceHandle:
        return SyncInstanceHandle(self._portal, self._accessor.get(name, **retry))

    def any(self, count: int | None = None, **retry: Any) -> SyncHandle:
        return SyncHandle(self._portal, self._accessor.any(count, **retry))

    def pool(self, **options: Any) -> SyncHandle:
        return SyncHandle(self._portal, self._accessor.pool(**options))


class SyncContainers:
    """`with SyncContainers("http://127.0.0.1:8080") as containers: ...`; takes `Containers`' arguments.

    `SyncContainers.of(factory)` wraps any `Containers` the factory builds (the test double).
    """

    def __init__(self, base_url: str | None = None, **options: Any) -> None:
        self._start(lambda: Containers(base_url, **options))

    @classmethod
    def of(cls, factory: Callable[[], Containers]) -> SyncContainers:
        wrapper = cls.__new__(cls)
        wrapper._start(factory)
        return wrapper

    def _start(self, factory: Callable[[], Containers]) -> None:
        self._portal_context: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._portal_context.__enter__()

        async def build() -> Containers:
            return factory()

        try:
            self.containers = self._portal.call(build)
        except BaseException:
            self._portal_context.__exit__(None, None, None)
            raise

    def __getitem__(self, container: str) -> SyncAccessor:
        return SyncAccessor(self._portal, self.containers[container])

    def close(self) -> None:
        try:
            self._portal.call(self.containers.aclose)
        finally:
            self._portal_context.__exit__(None, None, None)

    def __enter__(self) -> SyncContainers:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
