"""The registry lookup through the engine: a tag's manifest digest, a missing tag, a refusal, an unreachable registry."""

from __future__ import annotations

import pytest
from docker.errors import APIError, NotFound

from lunora_operator.images.errors import ImageError, Reason
from lunora_operator.images.push import RegistryAuth
from lunora_operator.images.registry import lookup
from tests.support.docker_answers import REFERENCE, api_error


class Distribution:
    def __init__(self, answer=None, error: APIError | None = None) -> None:
        self.answer, self.error = answer, error
        self.auth = None

    def inspect_distribution(self, image, auth_config=None):
        self.auth = auth_config
        if self.error is not None:
            raise self.error
        return self.answer


AUTH = RegistryAuth("user", "pw")


def test_lookup_returns_the_manifest_digest_and_sends_the_credentials() -> None:
    api = Distribution({"Descriptor": {"digest": "sha256:5a21", "size": 735}, "Platforms": []})
    assert lookup(api, REFERENCE, AUTH).digest == "sha256:5a21"
    assert api.auth == {"username": "user", "password": "pw"}


def test_lookup_of_a_missing_tag() -> None:
    remote = lookup(
        Distribution(error=api_error(404, "manifest unknown: manifest unknown", NotFound)), REFERENCE, AUTH
    )
    assert (remote.digest, remote.refused) == (None, None)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_lookup_leaves_the_push_to_report(status: int) -> None:
    remote = lookup(
        Distribution(error=api_error(status, "unauthorized: authentication required")), REFERENCE, AUTH
    )
    assert (remote.digest, remote.refused) == (None, "unauthorized: authentication required")


def test_an_unreachable_registry_is_retryable() -> None:
    error = api_error(500, 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused')
    with pytest.raises(ImageError, match="connection refused") as failed:
        lookup(Distribution(error=error), REFERENCE, AUTH)
    assert failed.value.reason is Reason.REGISTRY_UNAVAILABLE
    assert failed.value.retryable
