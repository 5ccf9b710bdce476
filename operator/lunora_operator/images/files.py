"""Reading a build context directory the way the docker SDK sends it to the engine.

The file list comes from the SDK's own `.dockerignore` handling (`exclude_paths`, which
`APIClient.build` uses to make the context tarball), so the digest covers exactly the files
the engine receives: an ignored file never changes the tag.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from docker.utils.build import exclude_paths

from lunora_operator.images.errors import ImageError, Reason
from lunora_operator.images.tag import ContextEntry, EntryKind, normalize_dockerfile

CHUNK = 1 << 20


def dockerignore_patterns(directory: Path) -> list[str]:
    """`.dockerignore` lines as `APIClient.build` reads them: stripped, no blanks, no comments."""
    ignore = directory / ".dockerignore"
    if not ignore.is_file():
        return []
    lines = (line.strip() for line in ignore.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(directory: Path, relative: str) -> ContextEntry | None:
    path = directory / relative
    info = path.lstat()
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISREG(info.st_mode):
        return ContextEntry(relative, EntryKind.FILE, mode, _file_sha256(path))
    if stat.S_ISDIR(info.st_mode):
        return ContextEntry(relative, EntryKind.DIRECTORY, mode)
    if stat.S_ISLNK(info.st_mode):
        return ContextEntry(relative, EntryKind.SYMLINK, mode, os.readlink(path))
    if stat.S_ISSOCK(info.st_mode):
        return None  # the SDK's tarball leaves sockets out
    return ContextEntry(relative, EntryKind.OTHER, mode)


def scan_context(directory: Path, dockerfile: str) -> list[ContextEntry]:
    """Every path the engine will receive for a build of `directory` with `dockerfile`."""
    relative_paths = exclude_paths(
        str(directory), dockerignore_patterns(directory), dockerfile=normalize_dockerfile(dockerfile)
    )
    entries = (_entry(directory, relative) for relative in sorted(relative_paths))
    return [entry for entry in entries if entry is not None]


def check_dockerfile(directory: Path, dockerfile: str, context: str) -> None:
    """The Dockerfile must be a regular file inside the context (no symlink out of it)."""
    root = directory.resolve()
    try:
        resolved = (root / dockerfile).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        resolved = None
    if resolved is None or not resolved.is_relative_to(root) or not resolved.is_file():
        raise ImageError(
            Reason.CONTEXT_UNAVAILABLE,
            f'`image.build.dockerfile` "{dockerfile}" is not a file in the build context ({context}); '
            "add it to the context or point `dockerfile` at the right path",
            retryable=False,
        )
