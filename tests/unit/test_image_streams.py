"""Engine and registry answers turned into results or ImageErrors, from recorded stream items."""

from __future__ import annotations

import pytest
import requests
from docker.errors import APIError, NotFound

from lunora_operator.images.build import build_image, read_build_stream
from lunora_operator.images.errors import ImageError, Reason
from lunora_operator.images.push import ImagePushError, RegistryAuth, push_image, push_progress_line
from lunora_operator.images.registry import lookup

REF = "127.0.0.1:15000/acct/web:ctx-1"
# Items as the classic builder sends them: a step line, then its newline in a separate item.
STEPS = [
    {"stream": "Step 1/2 : FROM lunora-test/busybox:1"},
    {"stream": "\n"},
    {"stream": " ---> 6672456ef87a\n"},
    {"stream": "Step 2/2 : RUN echo boom && exit 3"},
    {"stream": "\n"},
    {"stream": " ---> Running in 1f3f735ff7d3\n"},
    {"stream": "boom\n"},
]


def test_build_lines_are_reassembled_and_the_image_id_returned() -> None:
    lines: list[str] = []
    items = [*STEPS[:3], {"aux": {"ID": "sha256:abc"}}, {"stream": "Successfully built abc\n"}]
    assert read_build_stream(REF, items, lines.append) == "sha256:abc"
    assert lines == ["Step 1/2 : FROM lunora-test/busybox:1", " ---> 6672456ef87a", "Successfully built abc"]


def test_a_failing_step_is_named_and_not_retryable() -> None:
    lines: list[str] = []
    failure = {
        "errorDetail": {
            "code": 3,
            "message": "The command '/bin/sh -c echo boom && exit 3' returned a non-zero code: 3",
        },
        "error": "ignored when errorDetail has a message",
    }
    with pytest.raises(ImageError) as failed:
        read_build_stream(REF, [*STEPS, failure, {"aux": {"ID": "sha256:never"}}], lines.append)
    assert failed.value.reason is Reason.BUILD_FAILED
    assert not failed.value.retryable
    assert failed.value.message == (
        f'building {REF} failed at "Step 2/2 : RUN echo boom && exit 3": '
        "The command '/bin/sh -c echo boom && exit 3' returned a non-zero code: 3"
    )
    assert lines[-1] == "boom"


def test_a_failing_from_step_is_retryable() -> None:
    items = [
        {"stream": "Step 1/1 : FROM acme/base:1\n"},
        {"error": 'Get "https://registry-1.docker.io/v2/": no such host'},
    ]
    with pytest.raises(ImageError, match="no such host") as failed:
        read_build_stream(REF, items, lambda _: None)
    assert failed.value.retryable


def test_a_stream_without_an_image_id_is_an_error() -> None:
    with pytest.raises(ImageError, match="ended without an image id"):
        read_build_stream(REF, STEPS[:3], lambda _: None)


def api_error(status: int, explanation: str, kind: type[APIError] = APIError) -> APIError:
    response = requests.Response()
    response.status_code = status
    return kind(f"{status} error", response=response, explanation=explanation)


class RefusingBuilder:
    def build(self, **kwargs):
        raise api_error(400, "dockerfile parse error line 2: unknown instruction: FOO")


def test_a_dockerfile_the_engine_refuses_up_front_is_a_build_failure(tmp_path) -> None:
    with pytest.raises(ImageError, match="unknown instruction: FOO") as failed:
        build_image(RefusingBuilder(), tmp_path, "Dockerfile", REF, {}, None, lambda _: None)
    assert failed.value.reason is Reason.BUILD_FAILED
    assert not failed.value.retryable


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
    assert lookup(api, REF, AUTH).digest == "sha256:5a21"
    assert api.auth == {"username": "user", "password": "pw"}


def test_lookup_of_a_missing_tag() -> None:
    remote = lookup(
        Distribution(error=api_error(404, "manifest unknown: manifest unknown", NotFound)), REF, AUTH
    )
    assert (remote.digest, remote.refused) == (None, None)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_lookup_leaves_the_push_to_report(status: int) -> None:
    remote = lookup(Distribution(error=api_error(status, "unauthorized: authentication required")), REF, AUTH)
    assert (remote.digest, remote.refused) == (None, "unauthorized: authentication required")


def test_an_unreachable_registry_is_retryable() -> None:
    error = api_error(500, 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused')
    with pytest.raises(ImageError, match="connection refused") as failed:
        lookup(Distribution(error=error), REF, AUTH)
    assert failed.value.reason is Reason.REGISTRY_UNAVAILABLE
    assert failed.value.retryable
