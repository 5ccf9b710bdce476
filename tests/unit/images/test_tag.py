"""The content tag: what changes it (what reaches the image) and what must not (order, mtimes,
ignored files)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lunora_operator.images.files import scan_context
from lunora_operator.images.tag import ContextEntry, EntryKind, context_tag, files_digest

DOCKER_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        path.chmod(0o644)
    return root


def tag_of(root: Path, dockerfile: str = "Dockerfile", build_args: dict[str, str] | None = None) -> str:
    return context_tag(files_digest(scan_context(root, dockerfile)), dockerfile, build_args, "linux/amd64")


FILES = {"Dockerfile": "FROM base\nCOPY . /app\n", "app/main.sh": "echo hi\n", "app/data.txt": "data\n"}


def test_tag_is_a_stable_docker_tag() -> None:
    entries = [
        ContextEntry("Dockerfile", EntryKind.FILE, 0o644, "a" * 64),
        ContextEntry("app", EntryKind.DIRECTORY, 0o755),
    ]
    tag = context_tag(files_digest(entries), "Dockerfile", {"A": "1"}, "linux/amd64")
    assert DOCKER_TAG.fullmatch(tag)
    # Golden: the digest scheme must not drift silently, or every image would be rebuilt.
    assert tag == "ctx-d7892cf77925ab9df33d884dd5e1e5da"


def test_entry_order_does_not_matter() -> None:
    entries = [
        ContextEntry("b", EntryKind.FILE, 0o644, "1" * 64),
        ContextEntry("a", EntryKind.FILE, 0o644, "2" * 64),
        ContextEntry("d", EntryKind.DIRECTORY, 0o755),
    ]
    assert files_digest(entries) == files_digest(reversed(entries))


def test_creation_order_and_mtimes_do_not_matter(tmp_path: Path) -> None:
    first = write(tmp_path / "one", FILES)
    second = write(tmp_path / "two", dict(reversed(list(FILES.items()))))
    os.utime(second / "app" / "main.sh", (1_000_000, 1_000_000))
    assert tag_of(first) == tag_of(second)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda root: (root / "app/data.txt").write_text("other\n"), id="content"),
        pytest.param(lambda root: (root / "app/main.sh").chmod(0o755), id="mode"),
        pytest.param(lambda root: (root / "app/data.txt").rename(root / "app/data2.txt"), id="rename"),
        pytest.param(lambda root: (root / "app/empty").mkdir(), id="empty directory"),
        pytest.param(lambda root: (root / "link").symlink_to("app/main.sh"), id="symlink"),
        pytest.param(lambda root: (root / "Dockerfile").write_text("FROM other\n"), id="Dockerfile"),
    ],
)
def test_what_reaches_the_image_changes_the_tag(tmp_path: Path, change) -> None:
    root = write(tmp_path / "ctx", FILES)
    before = tag_of(root)
    change(root)
    assert tag_of(root) != before


def test_symlink_target_changes_the_tag(tmp_path: Path) -> None:
    root = write(tmp_path / "ctx", FILES)
    (root / "link").symlink_to("app/main.sh")
    before = tag_of(root)
    (root / "link").unlink()
    (root / "link").symlink_to("app/data.txt")
    assert tag_of(root) != before


def test_files_the_dockerignore_leaves_out_do_not_count(tmp_path: Path) -> None:
    root = write(tmp_path / "ctx", {**FILES, ".dockerignore": "*.log\n", "debug.log": "1"})
    before = tag_of(root)
    (root / "debug.log").write_text("2")
    assert tag_of(root) == before
    (root / ".dockerignore").write_text("*.log\n# comment\n")
    assert tag_of(root) != before


def test_the_dockerfile_counts_even_when_ignored(tmp_path: Path) -> None:
    root = write(tmp_path / "ctx", {**FILES, ".dockerignore": "Dockerfile\n"})
    before = tag_of(root)
    (root / "Dockerfile").write_text("FROM changed\n")
    assert tag_of(root) != before


def test_dockerfile_path_counts_and_is_normalized(tmp_path: Path) -> None:
    root = write(tmp_path / "ctx", {**FILES, "build/Dockerfile": "FROM base\n"})
    assert tag_of(root, "build/Dockerfile") != tag_of(root, "Dockerfile")
    assert tag_of(root, "./build/Dockerfile") == tag_of(root, "build/Dockerfile")


def test_build_args_count_by_value_not_order() -> None:
    files = files_digest([])
    tag = context_tag(files, "Dockerfile", {"A": "1", "B": "2"}, None)
    assert tag == context_tag(files, "Dockerfile", {"B": "2", "A": "1"}, None)
    assert tag != context_tag(files, "Dockerfile", {"A": "1", "B": "3"}, None)
    assert tag != context_tag(files, "Dockerfile", {"A": "1"}, None)
    assert context_tag(files, "Dockerfile", None, None) == context_tag(files, "Dockerfile", {}, None)


def test_platform_counts() -> None:
    files = files_digest([])
    assert context_tag(files, "Dockerfile", None, "linux/amd64") != context_tag(
        files, "Dockerfile", None, "linux/arm64"
    )
