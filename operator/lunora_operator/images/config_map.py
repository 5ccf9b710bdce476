"""A `configMap` build context: each key of the ConfigMap is one file at the context's root."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from pathlib import Path

from lunora_operator.images.errors import ImageError, Reason

# The API server's rule for ConfigMap keys, so every key is a plain file name.
KEY_PATTERN = re.compile(r"^[-._a-zA-Z0-9]+$")
FILE_MODE = 0o644


def _refuse(name: str, problem: str) -> ImageError:
    return ImageError(
        Reason.CONTEXT_UNAVAILABLE, f'ConfigMap "{name}" (the build context): {problem}', retryable=False
    )


def config_map_files(
    name: str, data: Mapping[str, str] | None, binary_data: Mapping[str, str] | None
) -> dict[str, bytes]:
    """The files of a ConfigMap: `data` as UTF-8, `binaryData` decoded from base64 as the
    API returns it."""
    files = {key: value.encode() for key, value in (data or {}).items()}
    for key, encoded in (binary_data or {}).items():
        if key in files:
            raise _refuse(name, f'key "{key}" is in both `data` and `binaryData`')
        try:
            files[key] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _refuse(name, f'`binaryData` key "{key}" is not base64') from None
    return files


def write_config_map_context(name: str, files: Mapping[str, bytes], directory: Path) -> None:
    """Writes the files into the (empty) context directory, each with mode 0644."""
    for key in files:
        if not KEY_PATTERN.fullmatch(key) or key in {".", ".."}:
            raise _refuse(name, f'key "{key}" is not a file name (letters, digits, "-", "_" and "." only)')
    for key, content in files.items():
        path = directory / key
        path.write_bytes(content)
        path.chmod(FILE_MODE)
