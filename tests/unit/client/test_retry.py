"""Lunora's retry policies as functions: which outcomes are transient, how long each wait is."""

from __future__ import annotations

import httpx
import pytest

from lunora_operator.client.retry import (
    SENTINEL_SCAN_BYTES,
    Backoff,
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
from tests.unit.client.support import NO_INSTANCE_TEXT, START_FAILURE_TEXT, RecordingClock, streamed, text


def test_defaults_are_lunoras() -> None:
    assert cold_start_policy() == Backoff(attempts=3, backoff_ms=500, max_backoff_ms=30_000)
    assert pool_policy() == Backoff(attempts=3, backoff_ms=100, max_backoff_ms=30_000)


def test_attempts_are_clamped_to_one() -> None:
    assert cold_start_policy(attempts=0).attempts == 1
    assert pool_policy(attempts=-4).attempts == 1


def test_item_60_waits_double_up_to_the_cap() -> None:
    """Item 60: base 1000, cap 5000, 7 attempts wait exactly 1000, 2000, 4000, 5000, 5000, 5000."""
    policy = pool_policy(attempts=7, backoff_ms=1000, max_backoff_ms=5000)
    assert [policy.wait_before(k) for k in range(1, 7)] == [1000, 2000, 4000, 5000, 5000, 5000]


def test_cold_start_waits_500_1000_then_cap_30s() -> None:
    policy = cold_start_policy(attempts=10)
    assert [policy.wait_before(k) for k in range(1, 10)] == [
        500,
        1000,
        2000,
        4000,
        8000,
        16000,
        30000,
        30000,
        30000,
    ]


@pytest.mark.parametrize(
    "message",
    [
        "There is no Container instance available",
        "the container is not listening to port 8080",
        "Please TRY AGAIN LATER",
        "rate limit exceeded",
        "ratelimit",
        "rate-limited start",
        "still provisioning",
    ],
)
def test_item_64_provisioning_errors_are_transient_by_message(message: str) -> None:
    assert is_cold_start_error(RuntimeError(message))


def test_other_errors_are_not_transient() -> None:
    assert not is_cold_start_error(RuntimeError("Network connection lost"))
    assert not is_cold_start_error(ValueError("boom"))


async def test_item_65_429_and_both_sentinels_are_transient() -> None:
    """Item 65: the start-failure 500 and a 429 are transient; so is the no-instance 503."""
    assert (await cold_start_transient(text(429)))[1]
    assert (await cold_start_transient(text(503, NO_INSTANCE_TEXT)))[1]
    assert (await cold_start_transient(text(500, START_FAILURE_TEXT)))[1]
    assert (await cold_start_transient(text(500, f"x {NO_INSTANCE_TEXT}")))[1]


async def test_item_66_an_application_5xx_is_not_transient() -> None:
    """Item 66: a 503 without a sentinel is the app's own answer."""
    assert not (await cold_start_transient(text(503, "maintenance")))[1]
    # The start-failure sentinel counts only at the start of the body.
    assert not (await cold_start_transient(text(500, f"app says {START_FAILURE_TEXT}")))[1]
    # Only 500 and 503 carry sentinels.
    assert not (await cold_start_transient(text(502, NO_INSTANCE_TEXT)))[1]


async def test_item_91_a_sentinel_in_an_oversized_first_chunk_still_counts() -> None:
    """Item 91: a sentinel plus 8 KB of padding in one chunk is still a cold-start transient."""
    chunk = (START_FAILURE_TEXT + " " * 8192).encode()
    response, transient = await cold_start_transient(streamed(500, [chunk]))
    assert transient
    assert (await response.aread()) == chunk  # the caller's body is intact


async def test_only_a_bounded_prefix_is_read_and_the_body_is_kept() -> None:
    pulled: list[int] = []
    response, transient = await cold_start_transient(streamed(503, [b"x" * 100], pulled, endless=True))
    assert not transient
    assert sum(pulled) <= SENTINEL_SCAN_BYTES + 100
    await response.aclose()

    chunks = [b"app error: ", b"y" * 3000, b" end"]
    response, transient = await cold_start_transient(streamed(503, chunks))
    assert not transient
    assert (await response.aread()) == b"".join(chunks)


async def test_a_sentinel_past_the_scanned_prefix_does_not_count() -> None:
    late = b"z" * (SENTINEL_SCAN_BYTES + 10) + NO_INSTANCE_TEXT.encode()
    assert not (await cold_start_transient(streamed(503, [late])))[1]


async def test_an_unreadable_body_is_not_transient() -> None:
    async def broken():  # type: ignore[no-untyped-def]
        raise httpx.ReadError("connection reset")
        yield b""

    assert not (await cold_start_transient(httpx.Response(503, content=broken())))[1]


async def test_a_gzip_sentinel_is_decoded() -> None:
    import gzip

    response = httpx.Response(
        503, headers={"content-encoding": "gzip"}, content=gzip.compress(NO_INSTANCE_TEXT.encode())
    )
    assert (await cold_start_transient(response))[1]


def _script(*outcomes: httpx.Response | Exception) -> tuple[list[int], object]:
    calls: list[int] = []
    remaining = list(outcomes)

    async def attempt() -> httpx.Response:
        calls.append(1)
        outcome = remaining.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return calls, attempt


async def test_cold_start_retry_returns_the_first_non_transient_answer() -> None:
    clock = RecordingClock()
    calls, attempt = _script(text(503, NO_INSTANCE_TEXT), RuntimeError("not listening"), text(200, "ok"))
    response = await with_cold_start_retry(attempt, cold_start_policy(), clock, replayable=True)  # type: ignore[arg-type]
    assert (response.status_code, len(calls), clock.waits) == (200, 3, [500, 1000])


async def test_item_67_the_last_transient_response_is_returned() -> None:
    clock = RecordingClock()
    calls, attempt = _script(text(429), text(429), text(503, NO_INSTANCE_TEXT))
    response = await with_cold_start_retry(attempt, cold_start_policy(), clock, replayable=True)  # type: ignore[arg-type]
    assert (response.status_code, len(calls)) == (503, 3)
    assert NO_INSTANCE_TEXT in response.text


async def test_the_last_transient_error_is_raised_and_a_non_transient_one_at_once() -> None:
    calls, attempt = _script(
        RuntimeError("provisioning"), RuntimeError("provisioning"), RuntimeError("provisioning")
    )
    with pytest.raises(RuntimeError, match="provisioning"):
        await with_cold_start_retry(attempt, cold_start_policy(), RecordingClock(), replayable=True)  # type: ignore[arg-type]
    assert len(calls) == 3

    calls, attempt = _script(ValueError("bad"), text(200))
    with pytest.raises(ValueError, match="bad"):
        await with_cold_start_retry(attempt, cold_start_policy(), RecordingClock(), replayable=True)  # type: ignore[arg-type]
    assert len(calls) == 1


async def test_item_69_a_request_that_cannot_be_replayed_is_sent_once() -> None:
    calls, attempt = _script(text(503, NO_INSTANCE_TEXT), text(200))
    response = await with_cold_start_retry(attempt, cold_start_policy(), RecordingClock(), replayable=False)  # type: ignore[arg-type]
    assert (response.status_code, len(calls)) == (503, 1)


async def test_pool_retry_returns_the_last_response_as_is_and_raises_the_last_error() -> None:
    clock = RecordingClock()
    calls, attempt = _script(text(503), text(500), text(502, "last"))
    response = await with_pool_retry(
        attempt,
        pool_policy(),
        clock,
        replayable=True,  # type: ignore[arg-type]
        retry_response=response_check(server_error),
        retry_error=always,
        label="l",
    )
    assert (response.status_code, response.text, len(calls), clock.waits) == (502, "last", 3, [100, 200])

    calls, attempt = _script(RuntimeError("one"), RuntimeError("two"), RuntimeError("three"))
    with pytest.raises(RuntimeError, match="three"):
        await with_pool_retry(
            attempt,
            pool_policy(),
            RecordingClock(),
            replayable=True,  # type: ignore[arg-type]
            retry_response=response_check(server_error),
            retry_error=always,
            label="l",
        )


async def test_an_async_retry_on_is_awaited() -> None:
    async def retry_on(response: httpx.Response) -> bool:
        return response.status_code == 429

    calls, attempt = _script(text(429), text(503))
    response = await with_pool_retry(
        attempt,
        pool_policy(),
        RecordingClock(),
        replayable=True,  # type: ignore[arg-type]
        retry_response=response_check(retry_on),
        retry_error=always,
        label="l",
    )
    assert (response.status_code, len(calls)) == (503, 2)
