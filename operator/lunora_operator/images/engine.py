"""The Docker engine, found the way the docker CLI finds it (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`,
`DOCKER_CERT_PATH`, else the current docker context), and the mapping of "could not talk to
it" into a retryable DockerUnavailable.

The docker SDK is synchronous: every call here runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import docker
import requests
import urllib3
from docker.errors import APIError, DockerException

from lunora_operator.images.errors import ImageError, Reason

T = TypeVar("T")


class Engine:
    """A lazily connected docker `APIClient`; a failed connection is retried on the next call."""

    def __init__(self, environment: Mapping[str, str] | None, timeout: int) -> None:
        self._environment = dict(os.environ if environment is None else environment)
        self._timeout = timeout
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self._environment.get("DOCKER_HOST") or "the default socket (or current docker context)"

    def _api(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = docker.from_env(environment=self._environment, timeout=self._timeout)
            return self._client.api

    def _call(self, operation: Callable[..., T], *args: Any) -> T:
        try:
            return operation(self._api(), *args)
        except APIError as error:
            # Operations map the refusals they expect; anything else is the engine's own trouble.
            raise ImageError(
                Reason.DOCKER_UNAVAILABLE,
                f"the Docker engine at {self.address} answered: {error.explanation or error}",
                retryable=True,
            ) from None
        except (DockerException, requests.RequestException, urllib3.exceptions.HTTPError) as error:
            raise ImageError(
                Reason.DOCKER_UNAVAILABLE,
                f"cannot reach the Docker engine at {self.address}: {error}",
                retryable=True,
            ) from None

    async def run(self, operation: Callable[..., T], *args: Any) -> T:
        """Runs `operation(api, *args)` in a thread."""
        return await asyncio.to_thread(self._call, operation, *args)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def has_local_image(api: Any, reference: str) -> bool:
    try:
        api.inspect_image(reference)
    except docker.errors.NotFound:
        return False
    return True
