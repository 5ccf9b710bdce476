"""The `lunora-operator` command line."""

from __future__ import annotations

import typer

from lunora_operator import __version__

app = typer.Typer(help="Kubernetes operator for Cloudflare Containers.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Kubernetes operator for Cloudflare Containers."""


@app.command()
def version() -> None:
    """Print the operator version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
