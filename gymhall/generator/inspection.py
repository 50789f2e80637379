"""Reading a domain class into a `DomainSpec`: its public methods become tools, its constructor row fields.

    cls, root = load_domain("examples/port/sliding_puzzle/sliding_puzzle.py")
    spec = inspect_domain(cls, root=root)

Each tool's arguments are written from the method's type hints and described from its docstring
(Google `Args:` or Sphinx `:param x:`); the grader is found by `gymhall.generator.graders`; the module's
imports give the dependencies. Writing the project from the spec is `gymhall.generator.project`'s job.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from gymhall.exceptions import port_error
from gymhall.generator.dependencies import module_dependencies
from gymhall.generator.domain_import import public_methods
from gymhall.generator.graders import find_grader
from gymhall.generator.hints import HintRenderer, resolved_hints
from gymhall.generator.spec import Action, Archetype, Argument, DomainSpec
from gymhall.wire.contract import RESERVED_ROUTES, TOOL_NAME

__all__ = ["inspect_domain"]

# Paths the server already serves: the wire contract's routes and gymhall's own `GET /tools`.
_RESERVED_TOOLS = RESERVED_ROUTES | {"tools"}
# Keys of a dataset row that gymhall or NeMo Gym read; a constructor parameter cannot use them.
_RESERVED_ROW_KEYS = frozenset(
    {"responses_create_params", "response", "reference_solution", "agent_ref", "reward", "expected_answer"}
)
# Graders that say a game was won: a class graded by one of these is a game.
_GAME_GRADERS = ("is_solved", "solved", "is_won", "won")

_SECTION = re.compile(r"(Args|Arguments|Parameters|Returns?|Raises|Yields?|Examples?|Notes?|Attributes):\s*$")
_SPHINX = re.compile(r":(param|type|returns?|rtype|raises)\b")


def inspect_domain(
    cls: type,
    *,
    root: Path | None = None,
    verify_method: str | None = None,
    reward_method: str | None = None,
    exclude: Iterable[str] = (),
) -> DomainSpec:
    """Read `cls`: its public methods become tools, its constructor row fields, its grading method verify.

    Raises `PortError` naming the method and parameter when something cannot be served.
    """
    renderer = HintRenderer()
    grader = find_grader(cls, verify_method, reward_method)
    skipped = set(exclude)
    if grader.name is not None:
        skipped.add(grader.name)
    unknown = sorted(set(exclude) - set(public_methods(cls)))
    if unknown:
        raise port_error(cls.__name__, f"--exclude names no public method: {', '.join(unknown)}", "check the names")
    actions = []
    for name, function in public_methods(cls).items():
        if name in skipped:
            continue
        where = f"{cls.__name__}.{name}"
        if name in _RESERVED_TOOLS or not TOOL_NAME.fullmatch(name):
            raise port_error(
                where,
                f"it would become POST /{name}, which the server reserves" if name in _RESERVED_TOOLS else "bad name",
                f"rename the method, or leave it out with --exclude {name}",
            )
        summary, _ = _docstring_parts(function)
        actions.append(Action(name, _arguments(function, renderer, where), summary))
    if not actions:
        raise port_error(
            cls.__name__,
            "the class has no public methods to serve as tools",
            "add a public method per action the model may take (e.g. def move(self, direction: str) -> str)",
        )
    constructor = _constructor(cls, renderer)
    module = sys.modules[cls.__module__]
    names = {a.name for a in actions}
    terminate = any(
        a.name == "terminate" and any(arg.name == "success" and arg.annotation == "bool" for arg in a.arguments)
        for a in actions
    )
    archetype: Archetype
    if "screenshot" in names or {"click", "type"} <= names:
        archetype = "computer-use"
    elif grader.name in _GAME_GRADERS:
        archetype = "game"
    else:
        archetype = "sandbox"
    path = Path(module.__file__).resolve() if module.__file__ else None
    dependencies, local_files = module_dependencies(path, root) if path is not None else ((), ())
    summary, _ = _docstring_parts(cls)
    return DomainSpec(
        module=module.__name__,
        class_name=cls.__name__,
        root=root,
        constructor=constructor,
        actions=tuple(actions),
        grader=grader,
        type_imports={k: tuple(sorted(v)) for k, v in sorted(renderer.imports.items())},
        typing_names=tuple(sorted(renderer.typing)),
        dependencies=dependencies,
        local_files=local_files,
        terminate=terminate,
        archetype=archetype,
        summary=summary.partition("\n")[0],
    )


def _docstring_parts(function: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The summary of a docstring and its per-parameter descriptions (Google `Args:` or Sphinx `:param x:`)."""
    lines = (inspect.getdoc(function) or "").splitlines()
    summary: list[str] = []
    described: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    entry_indent = -1
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        header = _SECTION.match(line)
        if header:
            section, current, entry_indent = header.group(1), None, -1
            continue
        sphinx = re.match(r":param\s+(?:\S+\s+)?(\w+):\s*(.*)", stripped)
        if sphinx:
            section, current = "sphinx", sphinx.group(1)
            described[current] = sphinx.group(2)
            continue
        if _SPHINX.match(stripped):
            section, current = "sphinx", None
            continue
        if section is None:
            summary.append(line)
        elif section in ("Args", "Arguments", "Parameters") and stripped:
            entry = re.match(r"\*{0,2}(\w+)(?:\s*\([^)]*\))?:\s*(.*)", stripped)
            if entry and (entry_indent < 0 or indent == entry_indent):
                entry_indent, current = indent, entry.group(1)
                described[current] = entry.group(2)
            elif current is not None:
                described[current] += " " + stripped
        elif section == "sphinx" and stripped and current is not None:
            described[current] += " " + stripped
    return "\n".join(summary).strip(), {name: text.strip() for name, text in described.items()}


def _arguments(
    function: Callable[..., Any], renderer: HintRenderer, where: str, *, hints: Mapping[str, Any] | None = None
) -> tuple[Argument, ...]:
    hints = resolved_hints(function, where) if hints is None else hints
    _, described = _docstring_parts(function)
    parameters = list(inspect.signature(function).parameters.values())[1:]  # skip self
    arguments = []
    for parameter in parameters:
        place = f"{where}, parameter {parameter.name!r}"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise port_error(
                place,
                "*args and **kwargs cannot become tool arguments",
                "declare each argument by name with a type hint",
            )
        if parameter.name not in hints:
            raise port_error(place, "it has no type hint", f"annotate it, e.g. `{parameter.name}: str`")
        annotation = renderer.annotation(hints[parameter.name], place)
        default = None if parameter.default is parameter.empty else renderer.default(parameter.default, place)
        arguments.append(
            Argument(
                parameter.name,
                annotation,
                default,
                described.get(parameter.name, ""),
                parameter.kind is parameter.POSITIONAL_ONLY,
            )
        )
    return tuple(arguments)


def _constructor(cls: type, renderer: HintRenderer) -> tuple[Argument, ...]:
    init = cls.__init__  # type: ignore[misc]
    if init is object.__init__:
        return ()
    where = f"{cls.__name__}.__init__"
    # A dataclass's generated __init__ carries no resolvable hints; the class does.
    hints = resolved_hints(cls, where) if dataclasses.is_dataclass(cls) else None
    arguments = _arguments(init, renderer, where, hints=hints)
    _, class_described = _docstring_parts(cls)
    arguments = tuple(
        dataclasses.replace(a, description=a.description or class_described.get(a.name, "")) for a in arguments
    )
    for argument in arguments:
        if argument.name in _RESERVED_ROW_KEYS:
            raise port_error(
                f"{where}, parameter {argument.name!r}",
                "constructor arguments are read from the dataset row, where gymhall already uses this key",
                "rename the parameter",
            )
    return arguments
