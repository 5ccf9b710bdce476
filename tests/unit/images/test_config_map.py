"""A ConfigMap build context: its data and binaryData keys as files."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from lunora_operator.images.config_map import config_map_files, write_config_map_context
from lunora_operator.images.errors import ImageError, Reason


def test_config_map_data_and_binary_data_become_files() -> None:
    files = config_map_files(
        "ctx", {"Dockerfile": "FROM base\n"}, {"logo.png": base64.b64encode(b"\x89PNG\x00").decode()}
    )
    assert files == {"Dockerfile": b"FROM base\n", "logo.png": b"\x89PNG\x00"}


def test_a_key_in_both_data_and_binary_data_is_refused() -> None:
    with pytest.raises(ImageError, match=r'ConfigMap "ctx" .*key "a" is in both') as refused:
        config_map_files("ctx", {"a": "1"}, {"a": "MQ=="})
    assert refused.value.reason is Reason.CONTEXT_UNAVAILABLE
    assert not refused.value.retryable


def test_binary_data_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ImageError, match='`binaryData` key "b" is not base64'):
        config_map_files("ctx", None, {"b": "not base64!"})


def test_files_are_written_with_mode_0644(tmp_path: Path) -> None:
    write_config_map_context("ctx", {"Dockerfile": b"FROM base\n", "run.sh": b"echo\n"}, tmp_path)
    assert (tmp_path / "Dockerfile").read_bytes() == b"FROM base\n"
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {0o644}


@pytest.mark.parametrize("key", ["../escape", "a/b", "..", "with space"])
def test_keys_that_are_not_file_names_are_refused(tmp_path: Path, key: str) -> None:
    context = tmp_path / "context"
    context.mkdir()
    with pytest.raises(ImageError, match="is not a file name"):
        write_config_map_context("ctx", {key: b"x", "Dockerfile": b"FROM base\n"}, context)
    assert list(context.iterdir()) == []  # nothing written when any key is bad
    assert not (tmp_path / "escape").exists()
