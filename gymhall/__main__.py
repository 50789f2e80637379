"""`python -m gymhall`: the same as the `gymhall` command."""

from __future__ import annotations

from gymhall.cli.main import main

main()
