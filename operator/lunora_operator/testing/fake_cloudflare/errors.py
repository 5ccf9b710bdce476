"""Error answers in Cloudflare's v4 envelope. The Containers API puts
`{"error": CODE, "details": {field: text}}` as JSON into `errors[0].message`; the Workers API
answers with a numeric code and a text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An error answer in the v4 envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        code: int = 1000,
        *,
        containers_error: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers: dict[str, str] = {}
        if containers_error is not None:
            body: dict[str, Any] = {"error": containers_error}
            if details is not None:
                body["details"] = dict(details)
            message = json.dumps(body)
        self.message = message

    def envelope(self) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"code": self.code, "message": self.message}],
            "messages": [],
            "result": None,
        }


def containers_error(code: str, details: Mapping[str, str] | None = None, status: int = 400) -> ApiError:
    """A Containers API refusal: `code` is one of the API's error constants."""
    return ApiError(status, "", 1000, containers_error=code, details=details)


def validation_error(details: Mapping[str, str]) -> ApiError:
    return containers_error("VALIDATE_INPUT", details)


WORKER_NOT_FOUND = "This Worker does not exist on your account."


def worker_not_found() -> ApiError:
    """Code 10007: what wrangler reads as "the Worker does not exist yet"."""
    return ApiError(404, WORKER_NOT_FOUND, 10007)
