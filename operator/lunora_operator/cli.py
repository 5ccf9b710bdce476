"""The `lunora-operator` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lunora_operator import __version__

app = typer.Typer(help="Kubernetes operator for Cloudflare Containers.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Kubernetes operator for Cloudflare Containers."""


@app.command()
def crds(
    out: Annotated[Path, typer.Option(help="Directory the CRD YAML files are written to.")] = Path("crds"),
) -> None:
    """Write the CustomResourceDefinitions generated from the API models."""
    from lunora_operator.api.crd import write_crds

    for path in write_crds(out):
        typer.echo(f"wrote {path}")


@app.command()
def version() -> None:
    """Print the operator version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
