"""Templates of the projects `gymhall port` and `gymhall init` write (package data), and their one reader.

text = template("port/server.py.tmpl").substitute(...)
"""

from __future__ import annotations

from importlib import resources
from string import Template

__all__ = ["template", "template_text"]


def template_text(name: str) -> str:
    """The text of the file `name` (e.g. `init/game.jsonl`) under this package."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def template(name: str) -> Template:
    """The `string.Template` in the file `name` (e.g. `port/server.py.tmpl`) under this package."""
    return Template(template_text(name))
