"""The repository stands alone: code, tests and generated files restate the rules they enforce
instead of citing design documents that are not in it (`spec/… §3.2`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
# The repository's own documents may be named: README.md and docs/NAME.md (with an anchor).
OWN_DOCUMENT = re.compile(r"(?<![\w/.-])(?:docs/[\w-]+\.md|README\.md)(?:#[\w-]+)?")
CITATION = re.compile(r"§\s*\d|\b[\w-]+\.md\b|\bspec/")


def citation(line: str) -> str | None:
    """The first citation of a document outside the repository on this line, if any."""
    found = CITATION.search(OWN_DOCUMENT.sub("", line))
    return found.group() if found else None


# This check's own examples, and the link check's, whose data are Markdown documents it writes.
EXEMPT = {Path(__file__).resolve(), ROOT / "tests" / "unit" / "test_docs_links.py"}


def files() -> list[Path]:
    found: list[Path] = []
    for path in CHECKED:
        found += [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [
        path
        for path in found
        if path.suffix in {".py", ".yaml", ".yml", ".ts", ".toml", ".jsonc", ".json"} and path not in EXEMPT
    ]


def test_no_citation_of_documents_outside_the_repository() -> None:
    cited = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if citation(line)
    ]
    assert not cited


def test_documents_of_the_repository_that_are_named_exist() -> None:
    named = {
        found.group().split("#")[0] for path in files() for found in OWN_DOCUMENT.finditer(path.read_text())
    }
    assert [name for name in sorted(named) if not (ROOT / name).is_file()] == []


@pytest.mark.parametrize(
    "line",
    [
        "# how to roll it out by hand: docs/install.md",
        "see `docs/failure-behaviour.md#the-fault-suite` for the cases",
        "[Failure behaviour](docs/failure-behaviour.md)",
        "the README.md says how",
        "no document here, only a version: wrangler 4.86.0",
    ],
)
def test_links_into_the_repositorys_documents_are_allowed(line: str) -> None:
    assert citation(line) is None


@pytest.mark.parametrize(
    ("line", "cited"),
    [
        ("# spec/platform.md §4: a rollout changes the image", "spec/"),
        ("as DESIGN.md requires", "DESIGN.md"),
        ("see shared/DESIGN.md", "DESIGN.md"),
        ("per §3.2", "§3"),
        ("the rule in spec/lunora-container", "spec/"),
        ("docs/spec/platform.md", "spec/"),
        ("the rule in §4 of cloudflare.md", "§4"),
        ("/work/shared/docs/install.md", "install.md"),
        ("install.md, next to this file", "install.md"),
        ("see docs/install.md and operator-practices.md", "operator-practices.md"),
    ],
)
def test_citations_of_documents_outside_the_repository_are_rejected(line: str, cited: str) -> None:
    assert citation(line) == cited
