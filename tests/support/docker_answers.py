"""What a Docker engine answers, for unit tests of the image edge without one."""

from __future__ import annotations

import requests
from docker.errors import APIError

REFERENCE = "127.0.0.1:15000/acct/web:ctx-1"


def api_error(status: int, explanation: str, kind: type[APIError] = APIError) -> APIError:
    """The error the docker SDK raises for an engine's HTTP error answer."""
    response = requests.Response()
    response.status_code = status
    return kind(f"{status} error", response=response, explanation=explanation)
