"""Addressing: `/<container>/<id>/<path>`, `any` / `pool`, and the port selector."""

from __future__ import annotations

import pytest

from lunora_operator.local import texts
from lunora_operator.local.errors import Unavailable
from lunora_operator.local.routing import Target, parse_target, target_port


@pytest.mark.parametrize(
    ("raw", "target"),
    [
        ("/web/video-42/transcode?q=1", Target("web", "video-42", "/transcode?q=1")),
        ("/web/video-42", Target("web", "video-42", "/")),
        ("/web/video-42/", Target("web", "video-42", "/")),
        ("/web/user%2F7/a%20b", Target("web", "user/7", "/a%20b")),
        ("/web/any/x", Target("web", None, "/x")),
        ("/web/pool/x", Target("web", None, "/x")),
        ("/web/pool-3/x", Target("web", "pool-3", "/x")),
    ],
)
def test_targets(raw: str, target: Target) -> None:
    assert parse_target(raw) == target


@pytest.mark.parametrize("raw", ["/", "/web", "/web/", "//x", "web/a"])
def test_paths_naming_no_instance(raw: str) -> None:
    assert parse_target(raw) is None


def test_53_the_port_header_wins_over_the_default_port() -> None:
    assert target_port("9090", 8080) == 9090
    assert target_port(None, 8080) == 8080


def test_no_port_and_a_port_that_is_no_number_get_cloudflares_texts() -> None:
    with pytest.raises(Unavailable) as none:
        target_port(None, None)
    with pytest.raises(Unavailable) as bad:
        target_port("http", 8080)

    assert none.value.answer == texts.NO_PORT
    assert bad.value.answer == texts.PORT_NOT_A_NUMBER
    assert bad.value.answer.status == 500
