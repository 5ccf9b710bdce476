"""The one error type of the image pipeline, shaped for the `ImageReady` condition."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

MESSAGE_LIMIT = 2000


class Reason(StrEnum):
    """`ImageReady` condition reasons (CamelCase, as Kubernetes conditions want)."""

    CONTEXT_UNAVAILABLE = "ContextUnavailable"
    BUILD_FAILED = "BuildFailed"
    PUSH_FAILED = "PushFailed"
    DOCKER_UNAVAILABLE = "DockerUnavailable"
    REGISTRY_UNAVAILABLE = "RegistryUnavailable"


class ImageError(RuntimeError):
    """An image could not be made ready.

    `message` carries the engine's, registry's or git's own words; `retryable` says whether
    trying again without a change to the spec or the context can succeed (an engine or
    registry that did not answer) or not (a failing Dockerfile step, a missing revision).
    """

    def __init__(self, reason: Reason, message: str, *, retryable: bool) -> None:
        self.reason = reason
        self.message = shorten(message)
        self.retryable = retryable
        super().__init__(self.message)


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Keeps condition messages bounded; the end of a tool's output says what failed."""
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replaces every secret value that occurs in `text` (registries and git may echo them)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
