"""Conformance item 125: paths under `/__lunora/` are refused however they are spelled."""

from __future__ import annotations

import pytest

from lunora_operator.local.reserved import is_reserved


@pytest.mark.parametrize(
    "target",
    [
        "/__lunora/exec",
        "/__lunora",
        "/__lunora/exec?x=1",
        "/foo/../__lunora/exec",
        "\\__lunora\\exec",
        "/%5F%5Flunora/exec",
        "/%5f%5flunora/exec",
        "/__lunora%2Fexec",
        "/%255F%255Flunora/exec",  # double encoding: a decoding proxy would route it to exec
        "/%25255F%25255Flunora/exec",
        "/%5F%5Flunora/exec/%ZZ",  # a malformed escape does not stop the decoding
        "/a/..%2F__lunora/exec",
        "/%2e%2e/__lunora/exec",
        "//__lunora/exec",
        "/./__lunora/exec",
        "/%" + "25" * 6 + "41",  # "A" encoded seven times: still changing after five rounds
    ],
)
def test_125_reserved_spellings_are_refused(target: str) -> None:
    assert is_reserved(target)


@pytest.mark.parametrize(
    "target",
    [
        "/",
        "/__lunora-status",
        "/transcode",
        "/a/__lunora/exec",
        "/__LUNORA/exec",
        "/%" + "25" * 4 + "41",
        "/x?y=/__lunora/",
    ],
)
def test_other_paths_pass(target: str) -> None:
    assert not is_reserved(target)
