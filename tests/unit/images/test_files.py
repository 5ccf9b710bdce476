"""The Dockerfile check over a context's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lunora_operator.images.errors import ImageError
from lunora_operator.images.files import check_dockerfile


def test_the_dockerfile_must_be_a_file_inside_the_context(tmp_path: Path) -> None:
    (tmp_path / "outside").write_text("FROM base\n")
    context = tmp_path / "context"
    (context / "build").mkdir(parents=True)
    (context / "build" / "Dockerfile").write_text("FROM base\n")
    (context / "Linked").symlink_to(tmp_path / "outside")

    check_dockerfile(context, "build/Dockerfile", "test")
    for dockerfile in ("Dockerfile", "Linked", "build"):
        with pytest.raises(ImageError, match=f'`image.build.dockerfile` "{dockerfile}" is not a file'):
            check_dockerfile(context, dockerfile, "test")
