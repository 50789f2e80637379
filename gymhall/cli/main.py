"""The `gymhall` command: a thin Typer layer over the library, one module per command group.

Each group module defines its commands on its own `typer.Typer()`, merged here. Heavy modules (the
launcher, httpx, uvicorn, FastAPI) are imported inside the commands, so that `gymhall --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gymhall.cli import bench, collect, envs, export, generator, serve, view

__all__ = ["app", "main"]

app = typer.Typer(
    name="gymhall",
    help="Build, serve and run reinforcement-learning environments for LLM agents (NeMo Gym compatible).",
    epilog=(
        "[b]Example:[/b] serve the bundled weather environment, then stop it with Ctrl-C\n\n"
        "  gymhall serve weather\n\n"
        "Run 'gymhall COMMAND --help' for a command's options and examples."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    # Plain tracebacks: they read better relayed line by line from `run-server` children, and
    # never show a failing frame's locals, which may hold API keys from the config.
    pretty_exceptions_enable=False,
)
app.add_typer(serve.app)
app.add_typer(collect.app)
app.add_typer(envs.app)
app.add_typer(generator.app)
app.add_typer(bench.app, name="bench")
app.add_typer(view.app)
app.add_typer(export.app)


def _version(value: bool) -> None:
    if value:
        from gymhall import __version__

        typer.echo(f"gymhall {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """Build, serve and run reinforcement-learning environments for LLM agents (NeMo Gym compatible)."""


def main() -> None:
    """Entry point of the `gymhall` console script and of `python -m gymhall`."""
    app(prog_name="gymhall")
