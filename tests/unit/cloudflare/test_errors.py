"""Error mapping: Cloudflare's answers and the SDK's exceptions into the small taxonomy."""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, datetime

import cloudflare
import httpx
import pytest

from lunora_operator.cloudflare import (
    AuthFailed,
    CloudflareClients,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
    RateLimited,
    ServerError,
)
from lunora_operator.cloudflare.errors import (
    from_exception,
    from_status,
    may_have_been_processed,
    parse_retry_after,
    readable_message,
)
from lunora_operator.testing import FakeCloudflare
from tests.support.cloudflare import FAST_RETRY, TOKEN

NOW = datetime(2026, 1, 1, tzinfo=UTC)

pytest_plugins = ["tests.support.cloudflare_fixtures"]


def envelope(message: str, code: int = 1000) -> dict[str, object]:
    return {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}


def test_containers_json_message_becomes_readable_text() -> None:
    message = json.dumps(
        {"error": "VALIDATE_INPUT", "details": {"disk": "Cannot have more GB disk", "vcpu": "too many"}}
    )
    assert readable_message(message) == (
        "VALIDATE_INPUT: disk: Cannot have more GB disk; vcpu: too many",
        "VALIDATE_INPUT",
    )
    assert readable_message(json.dumps({"error": "DEPLOYMENT_NOT_FOUND"})) == (
        "DEPLOYMENT_NOT_FOUND",
        "DEPLOYMENT_NOT_FOUND",
    )
    assert readable_message("Authentication error") == ("Authentication error", None)
    assert readable_message('["not", "an", "object"]') == ('["not", "an", "object"]', None)


def test_validation_error_is_permanent_with_the_code() -> None:
    body = envelope(json.dumps({"error": "VALIDATE_INPUT", "details": {"max_instances": "must be positive"}}))
    error = from_status(400, body, {}, "creating application web", now=NOW)
    assert isinstance(error, InvalidRequest)
    assert error.retryable is False
    assert error.code == "VALIDATE_INPUT"
    assert error.message == "creating application web: VALIDATE_INPUT: max_instances: must be positive"


@pytest.mark.parametrize(
    "code", ["SURPASSED_BASE_LIMITS", "SURPASSED_TOTAL_LIMITS", "LOCATION_SURPASSED_BASE_LIMITS"]
)
def test_limit_codes_are_quota_errors(code: str) -> None:
    error = from_status(400, envelope(json.dumps({"error": code})), {}, "creating application web", now=NOW)
    assert isinstance(error, QuotaExceeded)
    assert error.reason == "QuotaExceeded"


@pytest.mark.parametrize(
    ("status", "kind", "reason", "retryable"),
    [
        (401, AuthFailed, "AuthFailed", False),
        (403, AuthFailed, "AuthFailed", False),
        (404, NotFound, "NotFound", False),
        (409, Conflict, "Conflict", False),
        (422, InvalidRequest, "InvalidRequest", False),
        (429, RateLimited, "RateLimited", True),
        (500, ServerError, "CloudflareUnavailable", True),
        (503, ServerError, "CloudflareUnavailable", True),
    ],
)
def test_status_taxonomy(status: int, kind: type, reason: str, retryable: bool) -> None:
    error = from_status(status, envelope("text", 10000), {}, "op", now=NOW)
    assert type(error) is kind
    assert error.reason == reason
    assert error.retryable is retryable
    assert error.status == status
    assert "text (code 10000)" in error.message


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("2", NOW) == 2.0
    assert parse_retry_after("0.5", NOW) == 0.5
    assert (
        parse_retry_after(
            email.utils.formatdate(1_000_030, usegmt=True), datetime.fromtimestamp(1_000_000, UTC)
        )
        == 30.0
    )
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None
    limited = from_status(429, envelope("slow down", 971), {"retry-after": "7"}, "op", now=NOW)
    assert limited.retry_after == 7.0


def test_a_non_envelope_body_is_kept_short() -> None:
    error = from_status(502, "<html>" + "x" * 2000, {}, "op", now=NOW)
    assert isinstance(error, ServerError)
    assert len(error.message) < 600


def request() -> httpx.Request:
    return httpx.Request("GET", "https://api.cloudflare.com/client/v4/accounts/a/workers/scripts")


def connection_error(cause: Exception) -> cloudflare.APIConnectionError:
    error = cloudflare.APIConnectionError(request=request())
    error.__cause__ = cause
    return error


def test_connection_errors_tell_whether_the_request_may_have_gone_out() -> None:
    refused = from_exception(connection_error(httpx.ConnectError("refused")), "op", now=NOW)
    reset = from_exception(connection_error(httpx.RemoteProtocolError("Server disconnected")), "op", now=NOW)
    timeout = from_exception(cloudflare.APITimeoutError(request=request()), "op", now=NOW)
    assert isinstance(refused, ConnectionFailed)
    assert refused.sent is False
    assert isinstance(reset, ConnectionFailed)
    assert reset.sent is True
    assert isinstance(timeout, ConnectionFailed)
    assert timeout.reason == "Timeout"
    assert [may_have_been_processed(error) for error in (refused, reset, timeout)] == [False, True, True]
    assert may_have_been_processed(from_status(429, envelope("x"), {}, "op", now=NOW)) is False
    assert may_have_been_processed(from_status(502, envelope("x"), {}, "op", now=NOW)) is True
    assert may_have_been_processed(from_status(400, envelope("x"), {}, "op", now=NOW)) is False


def test_status_errors_of_the_sdk_are_mapped() -> None:
    response = httpx.Response(
        429, headers={"Retry-After": "3"}, json=envelope("Rate limited", 971), request=request()
    )
    error = from_exception(
        cloudflare.RateLimitError("Error code: 429", response=response, body=response.json()), "op", now=NOW
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 3.0
    with pytest.raises(TypeError):
        from_exception(ValueError("not from the SDK"), "op", now=NOW)


async def test_a_token_with_a_trailing_newline_works_and_one_with_inner_whitespace_is_refused(
    fake: FakeCloudflare,
) -> None:
    clients = CloudflareClients(retry=FAST_RETRY)
    try:
        account = clients.for_account(fake.account_id, TOKEN + "\n", base_url=fake.base_url)
        assert await account.applications.find("missing") is None
        with pytest.raises(AuthFailed) as refused:
            clients.for_account(fake.account_id, "half token", base_url=fake.base_url)
        assert "half" not in str(refused.value)
    finally:
        await clients.aclose()


def test_a_refused_header_never_quotes_the_request() -> None:
    cause = httpx.LocalProtocolError("Illegal header value b'Bearer s3cr3t-token'")
    mapped = from_exception(connection_error(cause), "op", now=NOW)
    assert "s3cr3t" not in str(mapped)
    assert "LocalProtocolError" in str(mapped)
