"""The `gymhall` command."""

from gymhall.cli.main import app, main

__all__ = ["app", "main"]
