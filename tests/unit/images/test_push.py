"""None"""

from __future__ import annotations

import pytest

from lunora_operator.images.errors import Reason
from lunora_operator.images.push import (
    ImagePushError,
    RegistryAuth,
    push_image,
    push_progress_line,
    read_push_stream,
)
from tests.support.docker_answers import api_error


def test_digest_comes_from_the_aux_item() -> None:
    items = [
        {"status": "The push refers to repository [r/app]"},
        {"status": "Pushed", "id": "abc"},
        {"status": "v1: digest: sha256:111 size: 528"},
        {"progressDetail": {}, "aux": {"Tag": "v1", "Digest": "sha256:111", "Size": 528}},
    ]

    result = read_push_stream("r/app", "v1", items)

    assert result.digest == "sha256:111"
    assert result.reference == "r/app@sha256:111"


def test_error_item_raises_with_the_registry_message() -> None:
    items = [
        {"status": "Preparing", "id": "abc"},
        {"errorDetail": {"message": "no basic auth credentials"}, "error": "no basic auth credentials"},
        {"aux": {"Digest": "sha256:never"}},
    ]

    with pytest.raises(ImagePushError, match="pushing r/app:v1 failed: no basic auth credentials"):
        read_push_stream("r/app", "v1", items)


def test_error_without_detail_uses_the_error_text() -> None:
    with pytest.raises(ImagePushError, match="denied"):
        read_push_stream("r/app", "v1", [{"error": "denied"}])


def test_stream_without_digest_is_an_error() -> None:
    with pytest.raises(ImagePushError, match="without a manifest digest"):
        read_push_stream("r/app", "v1", [{"status": "Pushed"}])


class RecordingClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, dict]] = []

    def push(self, repository: str, tag: str | None = None, **kwargs):
        self.calls.append((repository, tag, kwargs))
        return iter([{"aux": {"Digest": "sha256:222"}}])


def test_push_image_streams_and_sends_credentials_only_when_given() -> None:
    api = RecordingClient()

    push_image(api, "r/app", "v1", RegistryAuth("user", "secret"))
    push_image(api, "r/app", "v2", None)

    assert api.calls[0] == (
        "r/app",
        "v1",
        {"stream": True, "decode": True, "auth_config": {"username": "user", "password": "secret"}},
    )
    assert api.calls[1] == ("r/app", "v2", {"stream": True, "decode": True})


def test_registry_auth_repr_hides_the_password() -> None:
    assert "secret" not in repr(RegistryAuth("user", "secret"))


@pytest.mark.parametrize(
    ("item", "line"),
    [
        ({"status": "The push refers to repository [r/app]"}, "The push refers to repository [r/app]"),
        ({"status": "Pushed", "progressDetail": {}, "id": "0f37"}, "0f37: Pushed"),
        ({"status": "Layer already exists", "id": "0f37"}, "0f37: Layer already exists"),
        ({"status": "Pushing", "progressDetail": {"current": 1}, "id": "0f37"}, None),
        ({"status": "Preparing", "id": "0f37"}, None),
        ({"aux": {"Digest": "sha256:1"}}, None),
    ],
)
def test_push_progress_keeps_one_line_per_layer_outcome(item, line) -> None:
    assert push_progress_line(item) == line


class EchoingRegistry:
    """A push refused with a message that repeats the password."""

    def push(self, repository, tag=None, **kwargs):
        password = kwargs["auth_config"]["password"]
        return iter([{"errorDetail": {"message": f"denied: bad token {password}"}}])


class RefusingPush:
    def push(self, repository, tag=None, **kwargs):
        raise api_error(500, "invalid reference format")


def test_a_push_error_never_carries_the_password() -> None:
    with pytest.raises(ImagePushError) as refused:
        push_image(EchoingRegistry(), "r/app", "v1", RegistryAuth("user", "s3cret-pass"))
    assert refused.value.reason is Reason.PUSH_FAILED
    assert refused.value.retryable
    assert "s3cret-pass" not in str(refused.value)
    assert str(refused.value) == "pushing r/app:v1 failed: denied: bad token ***"


def test_a_push_the_engine_refuses_up_front_is_a_push_failure() -> None:
    with pytest.raises(ImagePushError, match="pushing r/app:v1 failed: invalid reference format"):
        push_image(RefusingPush(), "r/app", "v1", RegistryAuth("user", "pw"))
