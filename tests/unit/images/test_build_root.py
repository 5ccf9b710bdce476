"""A path build context resolves under the operator's build root, never outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lunora_operator.images.build_root import resolve_build_path
from lunora_operator.images.errors import ImageError, Reason


@pytest.fixture
def build_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "services" / "web").mkdir(parents=True)
    (root / "file.txt").write_text("x")
    (tmp_path / "outside").mkdir()
    (root / "sneaky").symlink_to(tmp_path / "outside")
    return root


def test_a_path_resolves_under_the_build_root(build_root: Path) -> None:
    assert resolve_build_path(build_root, "services/web") == (build_root / "services" / "web").resolve()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/etc", "must be a relative path inside the build root"),
        ("services/../../outside", "must be a relative path inside the build root"),
        ("sneaky", "leaves the build root .* through a symlink"),
        ("missing", "does not exist under the build root"),
        ("file.txt", "is not a directory under the build root"),
    ],
)
def test_paths_outside_or_missing_are_refused(build_root: Path, path: str, message: str) -> None:
    with pytest.raises(ImageError, match=message) as refused:
        resolve_build_path(build_root, path)
    assert refused.value.reason is Reason.CONTEXT_UNAVAILABLE
    assert not refused.value.retryable


def test_without_a_build_root_path_contexts_are_refused() -> None:
    with pytest.raises(ImageError, match="needs a build root directory"):
        resolve_build_path(None, "services/web")
