"""How every `gymhall` command fails: one line on stderr that names the problem and the fix, exit code 2."""

from __future__ import annotations

from typing import NoReturn

import typer

__all__ = ["USAGE_ERROR", "fail"]

USAGE_ERROR = 2
"""The exit code of a command stopped by bad input (a config, a flag, a file), as Click uses for usage errors."""


def fail(message: str) -> NoReturn:
    """Print `gymhall: error: <message>` on stderr and exit with `USAGE_ERROR`."""
    typer.echo(f"gymhall: error: {message}", err=True)
    raise typer.Exit(USAGE_ERROR)
