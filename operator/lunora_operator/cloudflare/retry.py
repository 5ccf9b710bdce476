"""Retries of one Cloudflare call: backoff with jitter, `Retry-After` honoured, a deadline."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import cloudflare
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_random_exponential

from lunora_operator.clock import Clock
from lunora_operator.cloudflare.errors import (
    CloudflareError,
    from_exception,
    may_have_been_processed,
    may_still_be_in_flight,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    deadline: float = 60.0
    """Seconds one call may take with all its retries; a wait that would pass it is not started,
    and the last retryable error (with its `retry_after`) goes to the caller instead."""
    initial_backoff: float = 0.5
    max_backoff: float = 15.0
    request_timeout: float = 30.0
    """Seconds one HTTP request may take."""


class _WaitRetryAfterOrBackoff(wait_base):
    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = wait_random_exponential(multiplier=policy.initial_backoff, max=policy.max_backoff)

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, CloudflareError) and error.retry_after is not None:
            return error.retry_after
        return self._backoff(retry_state)


class _StopBeforeDeadline(stop_base):
    """Stops when the next wait would end past the deadline, measured on the injected clock."""

    def __init__(self, clock: Clock, deadline: float) -> None:
        self._clock = clock
        self._ends = clock.monotonic() + deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._clock.monotonic() + retry_state.upcoming_sleep >= self._ends


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, CloudflareError) and error.retryable


def _log_retry(retry_state: RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    log.info("retrying in %.1fs after %s: %s", wait, getattr(error, "reason", "error"), error)


async def call_with_retries(
    policy: RetryPolicy, clock: Clock, operation: str, attempt: Callable[[], Awaitable[T]]
) -> T:
    """Runs `attempt` until it succeeds, fails permanently, or the deadline would pass.
    SDK exceptions are mapped to CloudflareError; the original (which holds the request)
    is not chained, so nothing of the request can reach a log through it."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(_is_retryable),
        wait=_WaitRetryAfterOrBackoff(policy),
        stop=_StopBeforeDeadline(clock, policy.deadline),
        sleep=clock.sleep,
        before_sleep=_log_retry,
        reraise=True,
    )
    async for attempt_state in retrying:
        with attempt_state:
            try:
                return await attempt()
            except cloudflare.APIError as error:
                raise from_exception(error, operation, now=clock.now()) from None
    raise AssertionError("unreachable: tenacity either returns or raises")


async def call_checking_before_retry(
    policy: RetryPolicy,
    clock: Clock,
    operation: str,
    send: Callable[[], Awaitable[T]],
    check: Callable[[], Awaitable[T | None]],
) -> T:
    """For a request that must not be carried out twice (a create): once an attempt failed in a
    way that may have gone through (lost answer, timeout, 5xx), every retry first runs `check`,
    which returns the result if it did go through (or prepares the next attempt) and None to send again.
    After a timeout the check waits until the request has had as long again (`request_timeout`)
    to be carried out: Cloudflare may still act on it after the client gave up."""
    uncertain = False
    settled_at = 0.0

    async def attempt() -> T:
        nonlocal uncertain, settled_at
        if uncertain:
            await clock.sleep(max(0.0, settled_at - clock.monotonic()))
            done = await check()
            if done is not None:
                return done
        try:
            return await send()
        except cloudflare.APIError as error:
            mapped = from_exception(error, operation, now=clock.now())
            uncertain = uncertain or may_have_been_processed(mapped)
            if may_still_be_in_flight(mapped):
                settled_at = clock.monotonic() + policy.request_timeout
            raise mapped from None

    return await call_with_retries(policy, clock, operation, attempt)
