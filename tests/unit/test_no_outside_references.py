"""The repository stands alone: code, tests and generated files restate the rules they enforce
instead of citing design documents that are not in it (`spec/… §3.2`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "operator" / "lunora_operator"
# The API, the render pipeline and their tests and data.
CHECKED = [
    PACKAGE / "api",
    PACKAGE / "wrangler",
    PACKAGE / "codegen",
    PACKAGE / "planner",
    PACKAGE / "local",
    PACKAGE / "render.py",
    PACKAGE / "cli.py",
    ROOT / "crds",
    ROOT / "bench",
    ROOT / "tests" / "unit",
    ROOT / "tests" / "support",
    ROOT / "tests" / "corpus",
    ROOT / "tests" / "e2e" / "local",
]
CITATION = re.compile(r"§\s*\d|\b[\w-]+\.md\b(?<!README\.md)|\bspec/")


def files() -> list[Path]:
    found: list[Path] = []
    for path in CHECKED:
        found += [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [
        path for path in found if path.suffix in {".py", ".yaml", ".yml", ".ts", ".toml", ".jsonc", ".json"}
    ]


def test_no_citation_of_documents_outside_the_repository() -> None:
    cited = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files()
        if path != Path(__file__)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if CITATION.search(line)
    ]
    assert not cited
