"""Target references: `<registry>/<accountId>/<repository>:<tag>` with a valid repository name."""

from __future__ import annotations

import pytest
from docker.utils.build import match_tag

from lunora_operator.images.reference import REPOSITORY_NAME_MAX, repository_name, target_repository

ACCOUNT = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("application", "expected"),
    [
        ("demo-transcodercontainer", "demo-transcodercontainer"),
        ("demo-TranscoderContainer", "demo-transcodercontainer"),
        ("My App_v2", "my-app-v2"),
        ("--edge..case--", "edge-case"),
        ("a__b", "a-b"),
    ],
)
def test_repository_name_is_a_valid_path_component(application: str, expected: str) -> None:
    name = repository_name(application)
    assert name == expected
    assert match_tag(f"registry.cloudflare.com/{ACCOUNT}/{name}:ctx-1")


def test_long_names_are_cut_without_a_trailing_separator() -> None:
    name = repository_name("a" * (REPOSITORY_NAME_MAX - 1) + "-bcd")
    assert len(name) <= REPOSITORY_NAME_MAX
    assert not name.endswith("-")


def test_a_name_without_letters_or_digits_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r'application name "__" .* set `spec.name`'):
        repository_name("__")


def test_target_repository_defaults_to_cloudflare() -> None:
    assert (
        target_repository(None, ACCOUNT, "demo-WebContainer")
        == f"registry.cloudflare.com/{ACCOUNT}/demo-webcontainer"
    )


def test_target_repository_keeps_a_registry_with_port_and_path() -> None:
    assert (
        target_repository("127.0.0.1:15000/mirror/", ACCOUNT, "web")
        == f"127.0.0.1:15000/mirror/{ACCOUNT}/web"
    )
