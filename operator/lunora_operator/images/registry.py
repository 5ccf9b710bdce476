"""Asking the registry, through the engine, whether a reference already exists there.

`APIClient.inspect_distribution` sends the credentials with the request and answers with the
manifest descriptor. 404 means the tag is not there. 401/403 leave the question open: the
push that follows gets the same refusal and reports it in the registry's words. Anything else
(the engine could not reach the registry) is RegistryUnavailable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from docker.errors import APIError

from lunora_operator.images.errors import ImageError, Reason, redact
from lunora_operator.images.push import RegistryAuth


class InspectingClient(Protocol):
    def inspect_distribution(self, image: str, auth_config: Mapping[str, str] | None = None) -> Any: ...


@dataclass(frozen=True)
class RemoteImage:
    """What the registry said about a reference: its digest, or why it is unknown."""

    digest: str | None
    refused: str | None = None
    """The registry's words when it refused the lookup (the existence stays unknown)."""


def lookup(api: InspectingClient, reference: str, auth: RegistryAuth) -> RemoteImage:
    try:
        answer = api.inspect_distribution(reference, auth_config=auth.auth_config())
    except APIError as error:
        text = redact(str(error.explanation or error), [auth.password])
        if error.status_code == 404:
            return RemoteImage(digest=None)
        if error.status_code in (401, 403):
            return RemoteImage(digest=None, refused=text)
        raise ImageError(
            Reason.REGISTRY_UNAVAILABLE,
            f"asking the registry for {reference} failed: {text}",
            retryable=True,
        ) from None
    digest = answer.get("Descriptor", {}).get("digest") if isinstance(answer, Mapping) else None
    if not digest:
        raise ImageError(
            Reason.REGISTRY_UNAVAILABLE,
            f"the registry's answer for {reference} has no manifest digest",
            retryable=True,
        )
    return RemoteImage(digest=str(digest))
