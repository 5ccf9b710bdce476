"""Every failure of a Cloudflare call, mapped once into a small taxonomy the reconciler acts on.

`RetryableError`: try again later (429, 5xx, connection reset, timeout); `retry_after` says when
if Cloudflare said so. `PermanentError`: the request itself is wrong or not allowed (4xx); retrying
the same request cannot help. Each error carries a short CamelCase `reason` for conditions and a
readable `message`. Neither ever contains the API token or a secret value: messages are built only
from Cloudflare's error codes and texts, never from request headers or bodies.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import cloudflare
import httpx

# `{"error": CODE}` values of the Containers API that mean an account quota, not a bad request.
QUOTA_CODES = frozenset({"SURPASSED_BASE_LIMITS", "SURPASSED_TOTAL_LIMITS", "LOCATION_SURPASSED_BASE_LIMITS"})


class CloudflareError(Exception):
    """A Cloudflare call failed. `str(error)` is `message`."""

    reason: str = "CloudflareError"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.status = status
        self.code = code
        """Cloudflare's error code: the JSON `error` value (`VALIDATE_INPUT`) or the numeric v4 code."""
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(reason={self.reason!r}, status={self.status!r}, message={self.message!r})"
        )


class RetryableError(CloudflareError):
    reason = "CloudflareUnavailable"
    retryable = True


class RateLimited(RetryableError):
    reason = "RateLimited"


class ServerError(RetryableError):
    reason = "CloudflareUnavailable"


class ConnectionFailed(RetryableError):
    """No answer: the connection failed, was reset, or timed out. For a create the request may
    still have been processed, so callers re-observe before creating again."""

    reason = "ConnectionFailed"

    def __init__(self, message: str, *, sent: bool, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.sent = sent
        """True when the request may have reached Cloudflare (reset or timeout after connecting)."""


class PermanentError(CloudflareError):
    reason = "CloudflareRejected"
    retryable = False


class InvalidRequest(PermanentError):
    reason = "InvalidRequest"


class QuotaExceeded(PermanentError):
    reason = "QuotaExceeded"


class AuthFailed(PermanentError):
    reason = "AuthFailed"


class NotFound(PermanentError):
    reason = "NotFound"


class Conflict(PermanentError):
    reason = "Conflict"


class NamespaceMismatch(Conflict):
    """An application with our name exists but serves another Durable Object namespace."""

    reason = "NamespaceMismatch"


class WriteRefused(httpx.ConnectError):
    """A write this process may not send now (it does not hold the peering's write lease);
    raised before the request leaves, so Cloudflare never saw it."""


def may_have_been_processed(error: Exception) -> bool:
    """True when Cloudflare may have carried out a request that failed retryably: anything but
    a 429 or a connection that was never made. A create is then looked up before it is retried."""
    if not isinstance(error, RetryableError) or isinstance(error, RateLimited):
        return False
    return not (isinstance(error, ConnectionFailed) and not error.sent)


def may_still_be_in_flight(error: Exception) -> bool:
    """True when the request timed out on the client: Cloudflare may carry it out after the
    client gave up, so looking it up at once can miss it."""
    return isinstance(error, ConnectionFailed) and error.reason == "Timeout"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds, or an HTTP date (counted from `now`)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now.timestamp())


def readable_message(text: str) -> tuple[str, str | None]:
    """Cloudflare's Containers API puts `{"error": CODE, "details": {field: text}}` into
    `errors[0].message`; returns (readable text, CODE). Plain messages come back unchanged."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text, None
    if not isinstance(parsed, Mapping) or not isinstance(parsed.get("error"), str):
        return text, None
    code = parsed["error"]
    details = parsed.get("details")
    if isinstance(details, Mapping) and details:
        return f"{code}: " + "; ".join(f"{field}: {detail}" for field, detail in details.items()), code
    return code, code


def _errors_text(body: object) -> tuple[str, str | None]:
    """Text and code from the v4 envelope's `errors`; falls back to the raw body."""
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            texts: list[str] = []
            code: str | None = None
            for error in errors:
                if not isinstance(error, Mapping):
                    continue
                text, json_code = readable_message(str(error.get("message") or ""))
                number = error.get("code")
                if code is None:
                    code = json_code or (str(number) if number is not None else None)
                texts.append(f"{text} (code {number})" if number is not None and not json_code else text)
            if texts:
                return "; ".join(texts), code
    if isinstance(body, (str, bytes)):
        raw = body.decode(errors="replace") if isinstance(body, bytes) else body
        return raw.strip()[:500] or "no error text", None
    return "no error text", None


def from_status(
    status: int, body: object, headers: Mapping[str, str], operation: str, *, now: datetime
) -> CloudflareError:
    """Maps an HTTP error answer to the taxonomy."""
    text, code = _errors_text(body)
    message = f"{operation}: {text}"
    kwargs: dict[str, Any] = {"status": status, "code": code}
    if status == 429:
        return RateLimited(
            f"{operation}: rate limited by Cloudflare ({text})",
            retry_after=parse_retry_after(headers.get("retry-after"), now),
            **kwargs,
        )
    if status >= 500:
        return ServerError(f"{operation}: Cloudflare answered {status} ({text})", **kwargs)
    if status in (401, 403):
        return AuthFailed(
            f"{operation}: the API token was refused ({status}: {text}); it needs Workers Scripts edit, "
            "Workers Containers edit and Durable Objects read on this account",
            **kwargs,
        )
    if status == 404:
        return NotFound(message, **kwargs)
    if status == 409:
        return Conflict(message, **kwargs)
    if code in QUOTA_CODES:
        return QuotaExceeded(message, **kwargs)
    return InvalidRequest(message, **kwargs)


def from_exception(error: Exception, operation: str, *, now: datetime) -> CloudflareError:
    """Maps an exception raised by the cloudflare SDK (or httpx below it)."""
    if isinstance(error, CloudflareError):
        return error
    if isinstance(error, cloudflare.APIStatusError):
        return from_status(error.status_code, error.body, error.response.headers, operation, now=now)
    if isinstance(error, cloudflare.APITimeoutError):
        return ConnectionFailed(
            f"{operation}: Cloudflare did not answer in time", sent=True, reason="Timeout"
        )
    if isinstance(error, cloudflare.APIConnectionError):
        cause = error.__cause__
        if isinstance(cause, WriteRefused):
            return ConnectionFailed(f"{operation}: not sent: {cause}", sent=False, reason="NotActive")
        sent = not isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout))
        # Never the cause's text: an httpx protocol error quotes the request header it refused,
        # which holds the token.
        detail = type(cause).__name__ if cause is not None else "connection error"
        return ConnectionFailed(f"{operation}: connection to Cloudflare failed ({detail})", sent=sent)
    if isinstance(error, cloudflare.APIResponseValidationError):
        return ServerError(
            f"{operation}: Cloudflare's answer did not match the API schema", status=error.status_code
        )
    raise TypeError(f"not a Cloudflare error: {type(error).__name__}") from error
