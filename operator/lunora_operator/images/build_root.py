"""A `path` build context: a directory under the operator's build root.

The build root is a directory the operator is configured with (for example a volume holding
the app's sources). Without one, `path` contexts are refused: the operator's own working
directory holds the operator's files, which no image should be built from.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from lunora_operator.images.errors import ImageError, Reason


def _refuse(message: str) -> ImageError:
    return ImageError(Reason.CONTEXT_UNAVAILABLE, message, retryable=False)


def resolve_build_path(build_root: Path | None, path: str) -> Path:
    """The directory `path` names under `build_root`; refuses paths that leave it, also via symlinks."""
    if build_root is None:
        raise _refuse(
            f'`image.build.context.path` "{path}" needs a build root directory, and this operator has '
            "none configured; use a `git` or `configMap` context, or start the operator with a build root"
        )
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts:
        raise _refuse(
            f'`image.build.context.path` "{path}" must be a relative path inside the build root, without ".."'
        )
    root = build_root.resolve()
    try:
        directory = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        raise _refuse(
            f'`image.build.context.path` "{path}" does not exist under the build root {root}'
        ) from None
    if not directory.is_relative_to(root):
        raise _refuse(f'`image.build.context.path` "{path}" leaves the build root {root} through a symlink')
    if not directory.is_dir():
        raise _refuse(f'`image.build.context.path` "{path}" is not a directory under the build root {root}')
    return directory
