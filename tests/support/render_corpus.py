"""The render corpus (tests/corpus/render/<case>/): a base wrangler config, resource files and
`render.args` (`--image EXPORT=REF`, `--flavour F`); golden outputs in `golden/`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from lunora_operator.codegen.containers_ts import Flavour
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
            assert value in ("lunora", "cloudflare", "local")
            options.flavour = cast(Flavour, value)
    return options


def base_config(directory: Path) -> Path:
    return next(p for p in directory.iterdir() if format_of(p.name) and p.name.startswith("wrangler"))
