"""The render corpus against golden files: the rendered wrangler config, state record and
generated TypeScript of each case (tests/corpus/render/<case>/golden/), so that any change to
generated text shows up as a reviewable diff.

After an intended change, regenerate them with `.venv/bin/python -m tests.support.render_corpus`
and review the diff; this test only compares, it never writes them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from lunora_operator.codegen.containers_ts import Flavour
from lunora_operator.render import RenderError
from tests.support.render_corpus import CASES, FLAVOURS, RENDER_CASES, rendered


def matches_golden(case: Path, files: dict[str, str]) -> None:
    golden = case / "golden"
    for name, text in files.items():
        path = golden / name
        assert path.is_file(), f"{path} is missing: run `python -m tests.support.render_corpus` and review it"
        assert text == path.read_text(), (
            f"{path} differs: run `python -m tests.support.render_corpus` and review the diff"
        )


# Cases whose resources use Lunora-only options (readyOn, hardTimeout, secretsStore), which the
# cloudflare flavour refuses.
REFUSED = {("jsonc-lunora", "cloudflare")}
RENDERED = [(case, flavour) for case in CASES for flavour in FLAVOURS if (case.name, flavour) not in REFUSED]


@pytest.mark.parametrize(("case", "flavour"), RENDERED, ids=lambda p: getattr(p, "name", p))
def test_render_matches_the_golden_files(case: Path, flavour: Flavour, tmp_path: Path) -> None:
    matches_golden(case, rendered(case, tmp_path, flavour))


@pytest.mark.parametrize(("name", "flavour"), sorted(REFUSED))
def test_a_flavour_that_cannot_express_the_case_refuses_it(
    name: str, flavour: Flavour, tmp_path: Path
) -> None:
    with pytest.raises(RenderError, match="which the @cloudflare/containers flavour cannot express"):
        rendered(RENDER_CASES / name, tmp_path, flavour)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_every_golden_file_is_still_produced(case: Path, tmp_path: Path) -> None:
    golden = case / "golden"
    expected = {path.relative_to(golden).as_posix() for path in golden.rglob("*") if path.is_file()}
    produced: set[str] = set()
    for flavour in FLAVOURS:
        with contextlib.suppress(RenderError):
            produced |= set(rendered(case, tmp_path / flavour, flavour))
    assert expected <= produced, f"golden files nothing produces any more: {sorted(expected - produced)}"
