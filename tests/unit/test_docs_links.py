"""The README and the documents under docs/ link to each other: every relative link must lead to a
file in the repository, and every `#anchor` to a heading of the document it names (anchors are
GitHub's: the heading's text, lower-cased, punctuation dropped, spaces turned into hyphens)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[2]
PARSER = MarkdownIt("commonmark").enable("table")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def plain_text(inline: Token) -> str:
    return "".join(child.content for child in inline.children or [] if child.type in {"text", "code_inline"})


def slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: a repeated heading gets `-1`, `-2`, … appended."""
    found: set[str] = set()
    tokens = PARSER.parse(markdown)
    for opening, inline in pairwise(tokens):
        if opening.type != "heading_open":
            continue
        base = slug(plain_text(inline))
        anchor, repeat = base, 0
        while anchor in found:
            repeat += 1
            anchor = f"{base}-{repeat}"
        found.add(anchor)
    return found


def links(markdown: str) -> Iterator[str]:
    """Targets of links and images, outside code blocks and code spans."""
    for token in PARSER.parse(markdown):
        for child in token.children or []:
            target = child.attrs.get("href") if child.type == "link_open" else child.attrs.get("src")
            if child.type in {"link_open", "image"} and isinstance(target, str):
                yield target


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    broken: list[str] = []
    for target in links(document.read_text()):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue  # an address on the web, not a file of the repository
        path = (document.parent / unquote(parts.path)).resolve() if parts.path else document
        if not path.is_relative_to(root):
            broken.append(f"{target}: outside the repository")
        elif not path.exists():
            broken.append(f"{target}: no such file")
        elif parts.fragment and (path.suffix != ".md" or parts.fragment not in anchors(path.read_text())):
            broken.append(f"{target}: no heading #{parts.fragment} in {path.relative_to(root)}")
    return broken


@pytest.mark.parametrize("document", documents(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(document: Path) -> None:
    assert broken_links(document) == []


def test_the_readme_links_every_document_under_docs() -> None:
    linked = {
        (ROOT / urlsplit(target).path).resolve()
        for target in links((ROOT / "README.md").read_text())
        if not urlsplit(target).scheme
    }
    assert [path.name for path in documents()[1:] if path not in linked] == []


def test_every_document_under_docs_starts_with_a_summary() -> None:
    for document in documents()[1:]:
        tokens = PARSER.parse(document.read_text())
        assert [token.type for token in tokens[:4]] == [
            "heading_open",
            "inline",
            "heading_close",
            "paragraph_open",
        ], document.name


def test_anchors_follow_githubs_rule() -> None:
    markdown = "# Offline render (`lunora-operator render`)\n\n## Argo CD and Flux\n\n## Argo CD and Flux\n"
    assert anchors(markdown) == {
        "offline-render-lunora-operator-render",
        "argo-cd-and-flux",
        "argo-cd-and-flux-1",
    }


def test_a_broken_file_anchor_or_way_out_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "install.md").write_text("# Install\n\n## Helm\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Probe\n\n[ok](docs/install.md#helm) [file](docs/missing.md) [anchor](docs/install.md#nowhere) "
        "[here](#probe) [gone](#elsewhere) [out](../outside.md) [web](https://example.com/x.md) "
        "`[code](missing.md)`\n\n```\n[fenced](missing.md)\n```\n"
    )
    assert broken_links(readme, tmp_path) == [
        "docs/missing.md: no such file",
        "docs/install.md#nowhere: no heading #nowhere in docs/install.md",
        "#elsewhere: no heading #elsewhere in README.md",
        "../outside.md: outside the repository",
    ]
