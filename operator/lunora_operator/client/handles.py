"""`Containers` -> accessor -> handles: Lunora's `ctx.containers` surface over a `Transport`."""

from __future__ import annotations

import math
import random as random_module
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from lunora_operator.api.naming import binding_name
from lunora_operator.client.clock import SYSTEM_CLOCK, Clock
from lunora_operator.client.errors import LunoraError
from lunora_operator.client.exec import ExecResult, run_exec
from lunora_operator.client.request import (
    EXEC_PATH,
    Content,
    HeaderInput,
    RequestContext,
    RequestInput,
    assert_path_not_reserved,
    build_request,
    is_replayable,
    validate_port,
)
from lunora_operator.client.retry import (
    Backoff,
    RetryOn,
    always,
    cold_start_policy,
    cold_start_transient,
    is_cold_start_error,
    pool_policy,
    response_check,
    server_error,
    with_cold_start_retry,
    with_pool_retry,
)
from lunora_operator.client.transport import InstanceTarget, LifecycleMethod, Transport
from lunora_operator.client.wire import JsonValue
from lunora_operator.name_lists import few

# `getRandom`'s default pool size in `@cloudflare/containers`, used without `maxInstances`.
DEFAULT_POOL_SIZE = 3
POOL_PREFIX = "pool-"


@dataclass(frozen=True)
class Wiring:
    """What every handle of one `Containers` shares."""

    transport: Transport
    clock: Clock = SYSTEM_CLOCK
    context: RequestContext = field(default_factory=RequestContext)
    random: Callable[[], float] = field(default=random_module.random)


async def _finish(response: httpx.Response, stream: bool) -> httpx.Response:
    if not stream:
        await response.aread()
    return response


def _attempts(
    wiring: Wiring,
    target: Callable[[], InstanceTarget],
    path_or_request: RequestInput,
    method: str,
    headers: HeaderInput,
    content: Content,
    port: int | None,
) -> Callable[[], Awaitable[httpx.Response]]:
    """One send per call, each to `target()`. The first request is built now, so a bad target
    raises before any send; later attempts build it again (a body is replayed only when it can be)."""

    def build() -> httpx.Request:
        return build_request(
            path_or_request,
            method=method,
            headers=headers,
            content=content,
            port=port,
            context=wiring.context,
        )

    pending = [build()]

    async def attempt() -> httpx.Response:
        return await wiring.transport.fetch(target(), pending.pop() if pending else build())

    return attempt


def _label(container: str) -> str:
    return f"ctx.containers.{container}"


class ContainerHandle:
    """One instance: `fetch` and `exec` with the cold-start retry, `port(n)` for another port."""

    def __init__(
        self, wiring: Wiring, target: InstanceTarget, label: str, policy: Backoff, port: int | None = None
    ) -> None:
        self._wiring = wiring
        self._target = target
        self._label = label
        self._policy = policy
        self._port = port

    @property
    def instance(self) -> str:
        """The instance every request of this handle reaches (`.any()` picks it once)."""
        return self._target.instance

    async def fetch(
        self,
        path_or_request: RequestInput,
        *,
        method: str = "GET",
        headers: HeaderInput = None,
        content: Content = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send a request to the instance; a path string resolves against `http://container`.

        A provisioning transient is retried on the same instance (string targets with a replayable
        body only). With `stream=True` the body is left unread for the caller to stream and close.
        """
        assert_path_not_reserved(path_or_request, self._label)
        attempt = _attempts(
            self._wiring, lambda: self._target, path_or_request, method, headers, content, self._port
        )
        response = await with_cold_start_retry(
            attempt,
            self._policy,
            self._wiring.clock,
            replayable=is_replayable(path_or_request, content),
        )
        return await _finish(response, stream)

    def _exec_request(self, body: bytes) -> httpx.Request:
        return build_request(
            EXEC_PATH,
            method="POST",
            headers={"content-type": "application/json"},
            content=body,
            port=self._port,
            context=self._wiring.context,
        )

    async def exec(
        self,
        command: str,
        *,
        args: Sequence[str] | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout_ms: float | None = None,
        max_output_bytes: int | None = None,
    ) -> ExecResult:
        """Run `command` (unshelled) in the instance; returns `ExecResult(code, stdout, stderr)`."""

        async def send(body: bytes) -> httpx.Response:
            return await with_cold_start_retry(
                lambda: self._wiring.transport.exec(self._target, self._exec_request(body)),
                self._policy,
                self._wiring.clock,
                replayable=True,
            )

        return await run_exec(
            send,
            self._label,
            self._wiring.clock,
            command,
            args=args,
            cwd=cwd,
            env=env,
            timeout_ms=timeout_ms,
            max_output_bytes=max_output_bytes,
        )

    def port(self, port: int) -> ContainerHandle:
        """A handle on the same instance whose requests reach `port` (the `cf-container-target-port` header)."""
        return ContainerHandle(self._wiring, self._target, self._label, self._policy, validate_port(port))


class EgressControls:
    """A named instance's runtime egress allow/deny lists."""

    def __init__(self, instance: InstanceHandle) -> None:
        self._instance = instance

    async def allow(self, hostname: str) -> None:
        await self._instance._call("allowHost", _host(hostname))

    async def deny(self, hostname: str) -> None:
        await self._instance._call("denyHost", _host(hostname))

    async def remove_allowed(self, hostname: str) -> None:
        await self._instance._call("removeAllowedHost", _host(hostname))

    async def remove_denied(self, hostname: str) -> None:
        await self._instance._call("removeDeniedHost", _host(hostname))

    async def set_allowed(self, hosts: Iterable[str]) -> None:
        await self._instance._call("setAllowedHosts", _hosts(hosts))

    async def set_denied(self, hosts: Iterable[str]) -> None:
        await self._instance._call("setDeniedHosts", _hosts(hosts))


def _host(hostname: object) -> str:
    if not isinstance(hostname, str) or not hostname:
        raise LunoraError("BAD_REQUEST", f"egress: hostname must be a non-empty string, got {hostname!r}")
    return hostname


def _hosts(hosts: Iterable[str]) -> list[JsonValue]:
    if isinstance(hosts, str):
        raise LunoraError("BAD_REQUEST", f"egress: give a list of hostnames, not the string {hosts!r}")
    return [_host(host) for host in hosts]  # a fresh copy, never the caller's list


class InstanceHandle(ContainerHandle):
    """A named instance (`.get(name)`): `fetch`, `exec`, `port`, lifecycle and `egress`."""

    def __init__(self, wiring: Wiring, target: InstanceTarget, label: str, policy: Backoff) -> None:
        super().__init__(wiring, target, label, policy)
        self.egress = EgressControls(self)

    @property
    def name(self) -> str:
        return self._target.instance

    async def _call(self, method: LifecycleMethod, argument: JsonValue = None) -> JsonValue:
        return await self._wiring.transport.call(self._target, method, argument)

    async def start(
        self,
        *,
        env_vars: Mapping[str, str] | None = None,
        entrypoint: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        enable_internet: bool | None = None,
    ) -> None:
        """Start the instance. `env_vars` replace its whole environment and persist until `destroy()`."""
        options: dict[str, JsonValue] = {}
        if env_vars is not None:
            options["envVars"] = dict(_string_map("env_vars", env_vars))
        if entrypoint is not None:
            if isinstance(entrypoint, str) or not all(isinstance(part, str) for part in entrypoint):
                raise LunoraError(
                    "BAD_REQUEST", f"start: `entrypoint` must be a list of strings, got {entrypoint!r}"
                )
            options["entrypoint"] = list(entrypoint)
        if labels is not None:
            options["labels"] = dict(_string_map("labels", labels))
        if enable_internet is not None:
            if not isinstance(enable_internet, bool):
                raise LunoraError(
                    "BAD_REQUEST", f"start: `enable_internet` must be a boolean, got {enable_internet!r}"
                )
            options["enableInternet"] = enable_internet
        await self._call("start", options or None)

    async def stop(self, signal: int | str | None = None) -> None:
        """Stop the instance (optionally with a signal); the next request starts it again."""
        if signal is not None and (isinstance(signal, bool) or not isinstance(signal, int | str)):
            raise LunoraError(
                "BAD_REQUEST", f"stop: `signal` must be a number or a name like 'SIGTERM', got {signal!r}"
            )
        await self._call("stop", signal)

    async def destroy(self) -> None:
        """Stop the instance and discard its disk and its start override."""
        await self._call("destroy")

    async def get_state(self) -> dict[str, Any]:
        """The instance's state (`status`, `exitCode`, `lastChange`, ...), unchanged."""
        state = await self._call("getState")
        return state if isinstance(state, dict) else {}

    async def renew_activity_timeout(self) -> None:
        """Reset the instance's `sleepAfter` idle timer."""
        await self._call("renewActivityTimeout")


def _string_map(field_name: str, values: Mapping[str, str]) -> Mapping[str, str]:
    if not isinstance(values, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise LunoraError("BAD_REQUEST", f"start: `{field_name}` must map names to string values")
    return values


class PoolHandle:
    """A pool of `pool-<i>` instances; every attempt picks a fresh random one."""

    def __init__(
        self,
        wiring: Wiring,
        container: str,
        size: int,
        policy: Backoff,
        retry_on: RetryOn,
        port: int | None = None,
    ) -> None:
        self._wiring = wiring
        self._container = container
        self._size = size
        self._policy = policy
        self._retry_on = retry_on
        self._port = port
        self._label = f"{_label(container)}.pool()"

    def _pick(self) -> InstanceTarget:
        return InstanceTarget(self._container, pool_instance(self._wiring.random, self._size))

    async def fetch(
        self,
        path_or_request: RequestInput,
        *,
        method: str = "GET",
        headers: HeaderInput = None,
        content: Content = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send to a random instance, again to a fresh one on an error or a `retry_on` response."""
        assert_path_not_reserved(path_or_request, self._label)
        attempt = _attempts(self._wiring, self._pick, path_or_request, method, headers, content, self._port)
        response = await with_pool_retry(
            attempt,
            self._policy,
            self._wiring.clock,
            replayable=is_replayable(path_or_request, content),
            retry_response=response_check(self._retry_on),
            retry_error=always,
            label=self._label,
        )
        return await _finish(response, stream)

    async def exec(
        self,
        command: str,
        *,
        args: Sequence[str] | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout_ms: float | None = None,
        max_output_bytes: int | None = None,
    ) -> ExecResult:
        """Run `command` on a random instance, retried only on provisioning transients.

        The command may already have run after any other failure, so nothing else is retried.
        """

        async def send(body: bytes) -> httpx.Response:
            async def attempt() -> httpx.Response:
                request = build_request(
                    EXEC_PATH,
                    method="POST",
                    headers={"content-type": "application/json"},
                    content=body,
                    port=self._port,
                    context=self._wiring.context,
                )
                return await self._wiring.transport.exec(self._pick(), request)

            return await with_pool_retry(
                attempt,
                self._policy,
                self._wiring.clock,
                replayable=True,
                retry_response=cold_start_transient,
                retry_error=is_cold_start_error,
                label=self._label,
            )

        return await run_exec(
            send,
            self._label,
            self._wiring.clock,
            command,
            args=args,
            cwd=cwd,
            env=env,
            timeout_ms=timeout_ms,
            max_output_bytes=max_output_bytes,
        )

    def port(self, port: int) -> PoolHandle:
        """The same pool, its requests reaching `port`."""
        return PoolHandle(
            self._wiring, self._container, self._size, self._policy, self._retry_on, validate_port(port)
        )


def pool_instance(random: Callable[[], float], size: int) -> str:
    """`pool-<floor(random × size)>`."""
    return f"{POOL_PREFIX}{math.floor(random() * size)}"


def _pool_size(label: str, field_name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LunoraError(
            "BAD_REQUEST", f"{label}: `{field_name}` must be a whole number of instances ≥ 1, got {value!r}"
        )
    return value


def check_instance_name(label: str, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise LunoraError(
            "BAD_REQUEST", f"{label}.get(): the instance name must be a non-empty string, got {name!r}"
        )
    if name.startswith(POOL_PREFIX):
        raise LunoraError(
            "BAD_REQUEST",
            f'{label}.get(): instance names starting "{POOL_PREFIX}" are reserved for the .any() and .pool() '
            f"instances; choose another name than {name!r}",
        )
    return name


class ContainerAccessor:
    """`containers["transcoder"]`: `.get(name)`, `.any(count)`, `.pool(...)`."""

    def __init__(self, wiring: Wiring, container: str, max_instances: int | None = None) -> None:
        self._wiring = wiring
        self.container = container
        self._max_instances = max_instances
        self._label = _label(container)

    def _default_size(self) -> int:
        return self._max_instances if self._max_instances is not None else DEFAULT_POOL_SIZE

    def get(
        self,
        name: str,
        *,
        attempts: int | None = None,
        backoff_ms: float | None = None,
        max_backoff_ms: float | None = None,
    ) -> InstanceHandle:
        """The instance `name`: the same name always reaches the same instance."""
        check_instance_name(self._label, name)
        return InstanceHandle(
            self._wiring,
            InstanceTarget(self.container, name),
            self._label,
            cold_start_policy(attempts, backoff_ms, max_backoff_ms),
        )

    def any(
        self,
        count: int | None = None,
        *,
        attempts: int | None = None,
        backoff_ms: float | None = None,
        max_backoff_ms: float | None = None,
    ) -> ContainerHandle:
        """One random `pool-<i>` instance, picked now, of `count` (default `maxInstances`, else 3)."""
        size = self._default_size() if count is None else _pool_size(f"{self._label}.any()", "count", count)
        return ContainerHandle(
            self._wiring,
            InstanceTarget(self.container, pool_instance(self._wiring.random, size)),
            self._label,
            cold_start_policy(attempts, backoff_ms, max_backoff_ms),
        )

    def pool(
        self,
        *,
        size: int | None = None,
        attempts: int | None = None,
        backoff_ms: float | None = None,
        max_backoff_ms: float | None = None,
        retry_on: RetryOn | None = None,
    ) -> PoolHandle:
        """A retrying handle over `size` pool instances (default `maxInstances`, else 3)."""
        pool_size = (
            self._default_size() if size is None else _pool_size(f"{self._label}.pool()", "size", size)
        )
        return PoolHandle(
            self._wiring,
            self.container,
            pool_size,
            pool_policy(attempts, backoff_ms, max_backoff_ms),
            retry_on or server_error,
        )


class MissingAccessor(ContainerAccessor):
    """A container this client does not know: every use raises, naming it and its binding."""

    def __init__(self, wiring: Wiring, container: str, known: Iterable[str]) -> None:
        super().__init__(wiring, container)
        self._known = sorted(known)

    def _fail(self) -> LunoraError:
        return LunoraError(
            "INTERNAL",
            f'{self._label}: no "{binding_name(self.container)}" container is known here (known: '
            f"{few(self._known) or 'none'}). Check the LunoraContainer's exportName, or add it to "
            "the names this client was given.",
        )

    def get(self, name: str, **_: Any) -> InstanceHandle:
        raise self._fail()

    def any(self, count: int | None = None, **_: Any) -> ContainerHandle:
        raise self._fail()

    def pool(self, **_: Any) -> PoolHandle:
        raise self._fail()
