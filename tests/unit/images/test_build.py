"""Engine answers to a build turned into an image id or an ImageError, from recorded stream items."""

from __future__ import annotations

import pytest

from lunora_operator.images.build import build_image, read_build_stream
from lunora_operator.images.errors import ImageError, Reason
from tests.support.docker_answers import REFERENCE, api_error

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
    assert read_build_stream(REFERENCE, items, lines.append) == "sha256:abc"
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
        read_build_stream(REFERENCE, [*STEPS, failure, {"aux": {"ID": "sha256:never"}}], lines.append)
    assert failed.value.reason is Reason.BUILD_FAILED
    assert not failed.value.retryable
    assert failed.value.message == (
        f'building {REFERENCE} failed at "Step 2/2 : RUN echo boom && exit 3": '
        "The command '/bin/sh -c echo boom && exit 3' returned a non-zero code: 3"
    )
    assert lines[-1] == "boom"


def test_a_failing_from_step_is_retryable() -> None:
    items = [
        {"stream": "Step 1/1 : FROM acme/base:1\n"},
        {"error": 'Get "https://registry-1.docker.io/v2/": no such host'},
    ]
    with pytest.raises(ImageError, match="no such host") as failed:
        read_build_stream(REFERENCE, items, lambda _: None)
    assert failed.value.retryable


def test_a_stream_without_an_image_id_is_an_error() -> None:
    with pytest.raises(ImageError, match="ended without an image id"):
        read_build_stream(REFERENCE, STEPS[:3], lambda _: None)


class RefusingBuilder:
    def build(self, **kwargs):
        raise api_error(400, "dockerfile parse error line 2: unknown instruction: FOO")


def test_a_dockerfile_the_engine_refuses_up_front_is_a_build_failure(tmp_path) -> None:
    with pytest.raises(ImageError, match="unknown instruction: FOO") as failed:
        build_image(RefusingBuilder(), tmp_path, "Dockerfile", REFERENCE, {}, None, lambda _: None)
    assert failed.value.reason is Reason.BUILD_FAILED
    assert not failed.value.retryable
