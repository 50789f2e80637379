"""What `gymhall port` read of a domain class: the `DomainSpec` a project is written from.

    spec = inspect_domain(cls, root=root)
    [action.name for action in spec.actions]  # the tools

Each public method is an `Action` (a tool) whose `Argument`s are source text for the generated server;
the constructor's `Argument`s are dataset-row fields; the `Grader` is how verify scores an episode.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel

from gymhall.generator.graders import Grader

__all__ = ["ARCHETYPES", "Action", "Archetype", "Argument", "DomainSpec"]

Archetype = Literal["game", "sandbox", "computer-use"]
"""The kind of environment a domain class is: it picks the config's domain and `gymhall init`'s starter."""

ARCHETYPES: tuple[str, ...] = get_args(Archetype)

# Names pydantic's BaseModel already defines: a field of one of these names needs an alias.
_BASEMODEL_NAMES = frozenset(name for name in dir(BaseModel) if not name.startswith("__"))


@dataclass(frozen=True)
class Argument:
    """One parameter of a method or constructor, as source text for the generated server."""

    name: str
    annotation: str  # Python source of the type, e.g. "list[int]"
    default: str | None  # Python source of the default, None when the parameter is required
    description: str = ""
    positional_only: bool = False

    @property
    def field_name(self) -> str:
        """The pydantic field's name: the parameter's, with `_` appended when pydantic reserves it."""
        return self.name + "_" if self.name in _BASEMODEL_NAMES or keyword.iskeyword(self.name) else self.name


@dataclass(frozen=True)
class Action:
    """A public method served as a tool."""

    name: str
    arguments: tuple[Argument, ...]
    description: str


@dataclass(frozen=True)
class DomainSpec:
    """What `gymhall port` read of a domain class: enough to write the project."""

    module: str  # the importable module name, e.g. "sliding_puzzle" or "pkg.games.puzzle"
    class_name: str
    root: Path | None  # the directory to put on sys.path to import `module`; None when installed
    constructor: tuple[Argument, ...]
    actions: tuple[Action, ...]
    grader: Grader
    type_imports: Mapping[str, tuple[str, ...]]  # module -> names the generated annotations use
    typing_names: tuple[str, ...]  # names imported from `typing` (Literal)
    dependencies: tuple[str, ...]  # requirement strings of the third-party distributions imported
    local_files: tuple[Path, ...]  # the domain module and the sibling modules it imports
    terminate: bool  # a `terminate(success: bool)` action: verify also requires a successful call
    archetype: Archetype
    summary: str = ""

    @property
    def env_name(self) -> str:
        """The environment's name: the module's last part, e.g. `sliding_puzzle`."""
        return self.module.rpartition(".")[2]
