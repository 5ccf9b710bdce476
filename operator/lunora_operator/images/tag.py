"""The content-addressed tag of a build: a digest over the context's files, the Dockerfile
path, the build args and the target platform.

Only what reaches the image counts: each file's path, type, permission bits and content (a
symlink's target). Modification times, owners and the order files are listed in do not, so
an unchanged context always gives the same tag and is never built or pushed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

# Bumped whenever the digest's input changes shape, so old and new tags never coincide.
SCHEME = "lunora-context/v1"
TAG_PREFIX = "ctx-"
TAG_HEX_DIGITS = 32


class EntryKind(StrEnum):
    FILE = "file"
    DIRECTORY = "dir"
    SYMLINK = "symlink"
    OTHER = "other"


@dataclass(frozen=True)
class ContextEntry:
    """One path of a build context as the image sees it."""

    path: str
    """Relative to the context root, `/`-separated."""
    kind: EntryKind
    mode: int
    """Permission bits (`st_mode & 0o7777`)."""
    content: str = ""
    """sha256 (hex) of a file's bytes, or a symlink's target; empty otherwise."""


def _sha256_json(document: object) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def files_digest(entries: Iterable[ContextEntry]) -> str:
    """Digest of a context's files, independent of the order they are given in."""
    return _sha256_json(sorted([e.path, e.kind.value, e.mode, e.content] for e in entries))


def normalize_dockerfile(dockerfile: str) -> str:
    """`./build/Dockerfile` and `build/Dockerfile` name the same file."""
    return PurePosixPath(dockerfile).as_posix()


def context_tag(
    files: str, dockerfile: str, build_args: Mapping[str, str] | None, platform: str | None
) -> str:
    """The image tag for a context whose `files_digest` is `files`: `ctx-` and 32 hex digits."""
    document = {
        "scheme": SCHEME,
        "files": files,
        "dockerfile": normalize_dockerfile(dockerfile),
        "buildArgs": sorted((build_args or {}).items()),
        "platform": platform or "",
    }
    return TAG_PREFIX + _sha256_json(document)[:TAG_HEX_DIGITS]
