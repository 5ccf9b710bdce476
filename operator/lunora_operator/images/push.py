"""Pushing an image and turning the docker SDK's progress stream into a result or an error.

`APIClient.push(..., stream=True, decode=True)` does not raise when a push fails: the
failure arrives as an `error` / `errorDetail` item in the stream, and a success ends with
an item whose `aux.Digest` is the manifest digest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from docker.errors import APIError

from lunora_operator.images.errors import ImageError, Reason, redact

# Per-layer states worth a log line; "Preparing", "Waiting" and "Pushing" repeat per chunk.
LAYER_OUTCOMES = ("Pushed", "Layer already exists", "Mounted from")


class ImagePushError(ImageError):
    """The registry refused a push; the message is the registry's own error text.

    Retryable: the credentials are minted per push and the registry is not part of the spec,
    so nothing the user edits fixes it, and a later attempt may succeed."""

    def __init__(self, repository: str, tag: str, detail: str) -> None:
        self.repository = repository
        self.tag = tag
        self.detail = detail
        super().__init__(Reason.PUSH_FAILED, f"pushing {repository}:{tag} failed: {detail}", retryable=True)


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials for one registry. The password never appears in repr or logs."""

    username: str
    password: str = field(repr=False)

    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}


@dataclass(frozen=True)
class PushResult:
    repository: str
    tag: str
    digest: str

    @property
    def reference(self) -> str:
        """The digest-pinned reference, `repository@sha256:…`."""
        return f"{self.repository}@{self.digest}"


class PushingClient(Protocol):
    def push(self, repository: str, tag: str | None = None, **kwargs: Any) -> Iterable[Mapping[str, Any]]: ...


def push_progress_line(item: Mapping[str, Any]) -> str | None:
    """The line worth logging for one stream item, or None for per-chunk progress."""
    status = item.get("status")
    if not isinstance(status, str):
        return None
    layer = item.get("id")
    if layer is None:
        return status
    return f"{layer}: {status}" if status.startswith(LAYER_OUTCOMES) else None


def read_push_stream(
    repository: str,
    tag: str,
    items: Iterable[Mapping[str, Any]],
    progress: Callable[[str], None] | None = None,
) -> PushResult:
    """Consumes a decoded push stream; raises ImagePushError on the first error item."""
    digest: str | None = None
    for item in items:
        if "error" in item or "errorDetail" in item:
            detail = item.get("errorDetail") or {}
            message = detail.get("message") if isinstance(detail, Mapping) else None
            raise ImagePushError(repository, tag, str(message or item.get("error") or "unknown error"))
        aux = item.get("aux")
        if isinstance(aux, Mapping) and aux.get("Digest"):
            digest = str(aux["Digest"])
        if progress is not None and (line := push_progress_line(item)):
            progress(line)
    if digest is None:
        raise ImagePushError(repository, tag, "the push stream ended without a manifest digest")
    return PushResult(repository=repository, tag=tag, digest=digest)


def push_image(
    api: PushingClient,
    repository: str,
    tag: str,
    auth: RegistryAuth | None,
    progress: Callable[[str], None] | None = None,
) -> PushResult:
    """Pushes `repository:tag` (already tagged locally) and returns its manifest digest.
    The password never reaches the error text, even if the registry echoes it."""
    kwargs: dict[str, Any] = {"stream": True, "decode": True}
    if auth is not None:
        kwargs["auth_config"] = auth.auth_config()
    secrets = [auth.password] if auth is not None else []
    try:
        return read_push_stream(repository, tag, api.push(repository, tag=tag, **kwargs), progress)
    except ImagePushError as error:
        raise ImagePushError(repository, tag, redact(error.detail, secrets)) from None
    except APIError as error:
        raise ImagePushError(repository, tag, redact(str(error.explanation or error), secrets)) from None
