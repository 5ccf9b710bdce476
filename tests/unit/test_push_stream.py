from __future__ import annotations

import pytest

from lunora_operator.images.push import ImagePushError, RegistryAuth, push_image, read_push_stream


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
