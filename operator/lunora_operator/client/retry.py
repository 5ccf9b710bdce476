"""Lunora's two retry policies, as functions over attempts, responses and an injected clock.

Cold start (`.get()` / `.any()` fetch, exec on every handle): the *same* instance is tried again,
only on the platform's provisioning transients, which mean the request never reached the app.
Pool (`.pool()` fetch): every attempt goes to a freshly picked instance, on any retryable response
or any error.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from lunora_operator.client.body import peek_prefix
from lunora_operator.client.clock import Clock
from lunora_operator.client.errors import LunoraError

COLD_START_ATTEMPTS = 3
COLD_START_BACKOFF_MS = 500
POOL_ATTEMPTS = 3
POOL_BACKOFF_MS = 100
MAX_BACKOFF_MS = 30_000
# Thrown while an instance is still coming up; always safe to retry.
COLD_START_ERROR = re.compile(
    r"no container instance|not listening|try again later|rate.?limit|provision", re.I
)
# The bodies the platform answers (as 503 / 500) for the same transients.
NO_INSTANCE_BODY = "no Container instance available"
START_FAILURE_BODY = "Failed to start container:"
# The sentinels lead short platform bodies; a bounded prefix keeps a large app error undrained.
SENTINEL_SCAN_BYTES = 1024

Attempt = Callable[[], Awaitable[httpx.Response]]
ResponseCheck = Callable[[httpx.Response], Awaitable[tuple[httpx.Response, bool]]]
ErrorCheck = Callable[[BaseException], bool]
RetryOn = Callable[[httpx.Response], bool | Awaitable[bool]]


@dataclass(frozen=True)
class Backoff:
    attempts: int
    backoff_ms: float
    max_backoff_ms: float

    @classmethod
    def of(
        cls,
        attempts: int | None,
        backoff_ms: float | None,
        max_backoff_ms: float | None,
        *,
        default_attempts: int,
        default_backoff_ms: float,
    ) -> Backoff:
        """Defaults filled in; attempts clamped to at least 1 (1 disables the retry)."""
        return cls(
            attempts=max(1, default_attempts if attempts is None else attempts),
            backoff_ms=default_backoff_ms if backoff_ms is None else backoff_ms,
            max_backoff_ms=MAX_BACKOFF_MS if max_backoff_ms is None else max_backoff_ms,
        )

    def wait_before(self, attempt: int) -> float:
        """The wait before attempt `attempt` (0-based, > 0): min(base × 2^(attempt−1), cap)."""
        return float(min(self.backoff_ms * 2 ** (attempt - 1), self.max_backoff_ms))


def cold_start_policy(
    attempts: int | None = None, backoff_ms: float | None = None, max_backoff_ms: float | None = None
) -> Backoff:
    return Backoff.of(
        attempts,
        backoff_ms,
        max_backoff_ms,
        default_attempts=COLD_START_ATTEMPTS,
        default_backoff_ms=COLD_START_BACKOFF_MS,
    )


def pool_policy(
    attempts: int | None = None, backoff_ms: float | None = None, max_backoff_ms: float | None = None
) -> Backoff:
    return Backoff.of(
        attempts,
        backoff_ms,
        max_backoff_ms,
        default_attempts=POOL_ATTEMPTS,
        default_backoff_ms=POOL_BACKOFF_MS,
    )


def is_cold_start_error(error: BaseException) -> bool:
    """A thrown provisioning transient, told by its message."""
    return isinstance(error, Exception) and COLD_START_ERROR.search(str(error)) is not None


async def cold_start_transient(response: httpx.Response) -> tuple[httpx.Response, bool]:
    """Whether a response is a provisioning transient: 429, or a 500/503 carrying a sentinel.

    Only a bounded prefix is read and the returned response still yields the whole body; an
    application 5xx without a sentinel, or an unreadable body, is not transient.
    """
    if response.status_code == 429:
        return response, True
    if response.status_code not in (500, 503):
        return response, False
    response, text = await peek_prefix(response, SENTINEL_SCAN_BYTES)
    if text is None:
        return response, False
    return response, NO_INSTANCE_BODY in text or text.startswith(START_FAILURE_BODY)


def server_error(response: httpx.Response) -> bool:
    """The pool's default `retry_on`: any 5xx is worth another instance."""
    return response.status_code >= 500


def response_check(retry_on: RetryOn) -> ResponseCheck:
    """A caller's `retry_on` (sync or async) as a response check."""

    async def check(response: httpx.Response) -> tuple[httpx.Response, bool]:
        verdict = retry_on(response)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        return response, bool(verdict)

    return check


def always(_: BaseException) -> bool:
    return True


async def with_cold_start_retry(
    attempt: Attempt, policy: Backoff, clock: Clock, *, replayable: bool
) -> httpx.Response:
    """Send, and on a provisioning transient wait and send to the same instance again.

    The last attempt's outcome is surfaced unchanged; a non-transient error is raised at once; a
    request that cannot be replayed is sent exactly once.
    """
    total = policy.attempts if replayable else 1
    for index in range(total):
        last = index == total - 1
        if index > 0:
            await clock.sleep_ms(policy.wait_before(index))
        try:
            response = await attempt()
        except Exception as error:
            if last or not is_cold_start_error(error):
                raise
            continue
        if last:
            return response
        response, transient = await cold_start_transient(response)
        if not transient:
            return response
        await response.aclose()
    raise AssertionError("unreachable: the last attempt returns or raises")


async def with_pool_retry(
    attempt: Attempt,
    policy: Backoff,
    clock: Clock,
    *,
    replayable: bool,
    retry_response: ResponseCheck,
    retry_error: ErrorCheck,
    label: str,
) -> httpx.Response:
    """Send to a fresh instance per attempt (the `attempt` picks it), retrying what the checks accept.

    The last response is returned as is, even a 5xx; when every attempt raised, the last error is
    raised; an error `retry_error` refuses is raised at once.
    """
    total = policy.attempts if replayable else 1
    last_error: Exception | None = None
    for index in range(total):
        if index > 0:
            await clock.sleep_ms(policy.wait_before(index))
        try:
            response = await attempt()
            if index == total - 1:
                return response
            response, retry = await retry_response(response)
            if not retry:
                return response
            await response.aclose()
        except Exception as error:
            last_error = error
            if not retry_error(error):
                raise
    if last_error is not None:
        raise last_error
    raise LunoraError("INTERNAL", f"{label}: all {total} attempts failed")
