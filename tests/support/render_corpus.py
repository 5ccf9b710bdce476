"""The render corpus (tests/corpus/render/<case>/): a base wrangler config, resource files and
`render.args` (`--image EXPORT=REF`, `--flavour F`); golden outputs in `golden/`.

The golden files are written only by running this module, never by the test that checks them:

    .venv/bin/python -m tests.support.render_corpus     # then review `git diff tests/corpus/render`
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lunora_operator.codegen.containers_ts import Flavour
from lunora_operator.render import GENERATED_TS, RenderError, render
from lunora_operator.wrangler.document import format_of

RENDER_CASES = Path(__file__).resolve().parents[1] / "corpus" / "render"
CASES = sorted(p for p in RENDER_CASES.iterdir() if p.is_dir())


@dataclass
class RenderArgs:
    images: dict[str, str] = field(default_factory=dict)
    flavour: Flavour = "lunora"


def render_args(case: Path) -> RenderArgs:
    args = (case / "render.args").read_text().split() if (case / "render.args").is_file() else []
    options = RenderArgs()
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag == "--image":
            name, reference = value.split("=", 1)
            options.images[name] = reference
        elif flag == "--flavour":
            assert value in ("lunora", "cloudflare")
            options.flavour = "lunora" if value == "lunora" else "cloudflare"
    return options


def base_config(directory: Path) -> Path:
    return next(p for p in directory.iterdir() if format_of(p.name) and p.name.startswith("wrangler"))


FLAVOURS: tuple[Flavour, ...] = ("lunora", "cloudflare")


def rendered(case: Path, workdir: Path, flavour: Flavour) -> dict[str, str]:
    """The files a render of the case into its own base writes, by golden file name."""
    shutil.copytree(case, workdir, dirs_exist_ok=True)
    base = base_config(workdir)
    options = render_args(case)
    output = render([workdir / "resources"], workdir, base=base, images=options.images, flavour=flavour)
    files = {str(path): text for path, text in output.files.items()}
    if (generated := files.pop(str(GENERATED_TS), None)) is not None:
        files[f"containers.{flavour}.ts"] = generated
    return files


def write_golden_files() -> list[Path]:
    """Renders every case in every flavour that can express it into its golden/ directory."""
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as scratch:
        for case in CASES:
            for flavour in FLAVOURS:
                with contextlib.suppress(RenderError):  # a flavour that cannot express the case
                    for name, text in rendered(case, Path(scratch) / case.name / flavour, flavour).items():
                        path = case / "golden" / name
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text(text)
                        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_golden_files():
        print(f"wrote {path}")
