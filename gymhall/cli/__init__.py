"""The `gymhall` command: one module per command group over the library, and the only layer that imports
Typer or Rich.

`main` (the root app and `main()`), `serve`, `collect`, `envs`, `generator`, `bench` (the groups),
`errors` (how every command fails).
"""

from gymhall.cli.main import app, main

__all__ = ["app", "main"]
