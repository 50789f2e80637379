"""`gymhall port`: serve an existing domain class as a gymhall environment, without copying its logic.

    domain = inspect_domain(load_domain("examples/port/sliding_puzzle/sliding_puzzle.py"))
    write_project(domain, Path("examples/port/sliding_puzzle/gymhall"))

`inspect_domain` reads the class: each public method becomes a tool whose pydantic body is built
from the method's type hints; the constructor's parameters become dataset-row fields; the method
that grades an episode (`is_solved()`, `score()`, ... or the one named by `verify_method` /
`reward_method`) becomes `verify`. `write_project` writes the project: `server.py` (which imports
the domain module), `pyproject.toml` declaring every dependency the code imports, a Dockerfile,
`configs/<env>.yaml`, `rollout.py`, a dataset, tests and a README.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import keyword
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Literal

from gymhall._exceptions import GymhallError

__all__ = [
    "Action",
    "Argument",
    "DomainSpec",
    "Grader",
    "PortError",
    "inspect_domain",
    "load_domain",
    "port",
    "write_project",
]

GraderKind = Literal["success", "score", "answer"]

# Names a grading method is recognised by, without a flag.
_SUCCESS_NAMES = (
    "is_solved",
    "solved",
    "is_won",
    "won",
    "is_success",
    "success",
    "succeeded",
    "is_complete",
    "is_completed",
    "goal_reached",
    "is_goal_reached",
)
_SCORE_NAMES = ("score", "reward", "get_score", "get_reward")

# Paths the server already serves; a method of one of these names cannot become a tool.
_RESERVED_TOOLS = frozenset({"seed_session", "verify", "close_session", "aggregate_metrics", "tools"})
# Keys of a dataset row that gymhall or NeMo Gym read; a constructor parameter cannot use them.
_RESERVED_ROW_KEYS = frozenset(
    {"responses_create_params", "response", "reference_solution", "agent_ref", "reward", "expected_answer"}
)
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PRIMITIVES: dict[Any, str] = {str: "str", int: "int", float: "float", bool: "bool", type(None): "None"}
_TEMPLATES = "gymhall.templates"


class PortError(GymhallError, ValueError):
    """Raised when a domain module or class cannot be ported; the message names the thing, the problem and the fix."""


def _error(thing: str, problem: str, fix: str) -> PortError:
    return PortError(f"{thing}: {problem}.\n  Fix: {fix}")


# --- the description of a domain class ---------------------------------------------------------------


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
class Grader:
    """How verify grades an episode: a success method (bool), a score method (number), or the final answer."""

    name: str | None
    kind: GraderKind
    is_property: bool = False

    def describe(self, class_name: str) -> str:
        """One line saying what earns the reward."""
        if self.kind == "answer":
            return "1.0 when the final answer equals the row's expected_answer, else 0.0"
        call = f"{class_name}.{self.name}" + ("" if self.is_property else "()")
        return f"1.0 when {call} is true, else 0.0" if self.kind == "success" else f"{call}, a number in [0, 1]"


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
    archetype: Literal["game", "sandbox", "computer-use"]
    summary: str = ""

    @property
    def env_name(self) -> str:
        """The environment's name: the module's last part, e.g. `sliding_puzzle`."""
        return self.module.rpartition(".")[2]


def _basemodel_names() -> frozenset[str]:
    from pydantic import BaseModel

    return frozenset(name for name in dir(BaseModel) if not name.startswith("__"))


_BASEMODEL_NAMES = _basemodel_names()


# --- loading ---------------------------------------------------------------------------------------


def load_domain(target: str, *, search_path: Path | None = None) -> tuple[type, Path | None]:
    """The class `target` names: `path/to/module.py[:Class]` or `package.module[:Class]`; and its import root.

    Without `:Class`, the module must define exactly one public class with public methods.
    """
    module_part, class_name = target, None
    head, sep, tail = target.rpartition(":")
    if sep and tail.isidentifier() and head:
        module_part, class_name = head, tail
    base = search_path or Path.cwd()
    candidate = Path(module_part) if Path(module_part).is_absolute() else base / module_part
    root: Path | None
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        module, root = _import_file(candidate, target)
    else:
        module, root = _import_name(module_part, base, target)
    return _choose_class(module, class_name, target), root


def _import_file(path: Path, target: str) -> tuple[types.ModuleType, Path]:
    if not path.is_file():
        raise _error(target, f"{path} is not a file", "name an existing Python file, e.g. games/puzzle.py:Puzzle")
    if path.suffix != ".py" or not path.stem.isidentifier():
        raise _error(target, f"{path.name} is not an importable Python module name", "rename it to name.py")
    path = path.resolve()
    root = path.parent
    if path.name == "__init__.py":
        raise _error(target, "a package's __init__.py", "name the module by its dotted name instead, e.g. pkg.module")
    existing = sys.modules.get(path.stem)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() != path:
        raise _error(
            target,
            f"another module named {path.stem!r} is already imported (from {existing.__file__})",
            "rename the domain module so that its name is unique",
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return _import(path.stem, target), root


def _import_name(name: str, base: Path, target: str) -> tuple[types.ModuleType, Path | None]:
    if not all(part.isidentifier() for part in name.split(".")):
        raise _error(target, f"{name!r} is neither a .py file nor a dotted module name", "e.g. puzzle.py or pkg.puzzle")
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))  # like `python -m`: the current directory first
    module = _import(name, target)
    top = name.partition(".")[0]
    if top in importlib.metadata.packages_distributions():
        return module, None  # installed: the generated project depends on its distribution instead
    location = Path(module.__file__ or "").resolve()
    depth = name.count(".") + (1 if location.name == "__init__.py" else 0)
    root = location.parent
    for _ in range(depth):
        root = root.parent
    return module, root


def _import(name: str, target: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        if missing and missing != name and not name.startswith(missing + "."):
            fix = f"install the distribution that provides {missing!r} (pip install ...), then port again"
        else:
            fix = "run from the directory that contains the module, or name it by its file path (path/to/module.py)"
        raise _error(target, f"cannot import module {name!r} ({type(exc).__name__}: {exc})", fix) from None
    except Exception as exc:  # the module's own code failed while importing
        raise _error(
            target,
            f"importing module {name!r} raised {type(exc).__name__}: {exc}",
            "correct the module so that `import` succeeds",
        ) from exc


def _public_methods(cls: type) -> dict[str, Callable[..., Any]]:
    """Public instance methods of `cls` and its bases (not `object`), in definition order."""
    methods: dict[str, Callable[..., Any]] = {}
    for klass in reversed(cls.__mro__[:-1]):
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if inspect.isfunction(value):
                methods[name] = value
            else:
                methods.pop(name, None)  # overridden by a non-method
    return methods


def _choose_class(module: types.ModuleType, class_name: str | None, target: str) -> type:
    defined = [
        value
        for name, value in vars(module).items()
        if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_")
    ]
    if class_name is not None:
        found = getattr(module, class_name, None)
        if not inspect.isclass(found):
            names = ", ".join(cls.__name__ for cls in defined) or "none"
            raise _error(
                target, f"module {module.__name__!r} has no class {class_name!r}", f"name one of its classes: {names}"
            )
        return found
    usable = [
        cls
        for cls in defined
        if _public_methods(cls) and not issubclass(cls, BaseException | enum.Enum) and not dataclasses.is_dataclass(cls)
    ]
    if len(usable) == 1:
        return usable[0]
    if not usable:
        raise _error(
            target,
            f"module {module.__name__!r} defines no public class with public methods",
            "add one (its public methods become the tools), or name a class: MODULE:CLASS",
        )
    names = ", ".join(cls.__name__ for cls in usable)
    raise _error(
        target,
        f"module {module.__name__!r} defines several classes with public methods ({names})",
        f"name one: {target}:{usable[0].__name__}",
    )


# --- reading a class -------------------------------------------------------------------------------


class _Renderer:
    """Writes type hints as source text, recording what the generated module must import."""

    def __init__(self) -> None:
        self.imports: dict[str, set[str]] = {}
        self.typing: set[str] = set()

    def annotation(self, hint: Any, where: str) -> str:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint in _PRIMITIVES:
            return _PRIMITIVES[hint]
        if origin is typing.Annotated:
            return self.annotation(args[0], where)
        if origin is Literal:
            if not all(isinstance(a, str | int | bool) or a is None for a in args):
                raise self._unsupported(hint, where, "Literal values must be strings, integers, booleans or None")
            self.typing.add("Literal")
            return f"Literal[{', '.join(_literal(a) for a in args)}]"
        if origin in (typing.Union, types.UnionType):
            return " | ".join(self.annotation(a, where) for a in args)
        if origin is list and len(args) == 1:
            return f"list[{self.annotation(args[0], where)}]"
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return f"tuple[{self.annotation(args[0], where)}, ...]"
        if inspect.isclass(hint) and issubclass(hint, enum.Enum):
            return self._named(hint, where)
        if hint in (list, tuple) or origin in (list, tuple):
            raise self._unsupported(hint, where, "give the element type, e.g. list[int] or tuple[str, ...]")
        if hint is dict or origin is dict:
            raise self._unsupported(
                hint, where, "strict tool schemas cannot hold free-form objects; take a list of values instead"
            )
        raise self._unsupported(
            hint, where, "use str, int, float, bool, None, a Literal, an Enum, list[...] or tuple[..., ...] of them"
        )

    def _named(self, cls: type, where: str) -> str:
        top = cls.__qualname__.partition(".")[0]
        module = sys.modules.get(cls.__module__)
        if module is None or "<locals>" in cls.__qualname__ or getattr(module, top, None) is None:
            raise self._unsupported(cls, where, f"define {cls.__name__} at the top level of its module")
        self.imports.setdefault(cls.__module__, set()).add(top)
        return cls.__qualname__

    def default(self, value: Any, where: str) -> str:
        if isinstance(value, enum.Enum):
            return f"{self._named(type(value), where)}.{value.name}"
        if value is None or isinstance(value, bool | int | float | str):
            return _literal(value)
        if isinstance(value, list | tuple) and all(v is None or isinstance(v, bool | int | float | str) for v in value):
            items = ", ".join(_literal(v) for v in value)
            return f"[{items}]" if isinstance(value, list) else f"({items}{',' if len(value) == 1 else ''})"
        raise _error(
            where,
            f"its default {value!r} ({type(value).__name__}) cannot be written into the server",
            "use a default that is None, a number, a string, a boolean, an Enum member, or a list of those",
        )

    @staticmethod
    def _unsupported(hint: Any, where: str, fix: str) -> PortError:
        name = getattr(hint, "__qualname__", None) if inspect.isclass(hint) else None
        return _error(where, f"its type {name or hint!r} is not supported in a tool schema", fix)


def _literal(value: Any) -> str:
    """Python source for a plain value; strings double-quoted, as ruff formats them."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _hints(function: Callable[..., Any], where: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception as exc:
        raise _error(
            where,
            f"its type hints cannot be resolved ({type(exc).__name__}: {exc})",
            "import every name the hints use at the top level of the module",
        ) from None


_SECTION = re.compile(r"(Args|Arguments|Parameters|Returns?|Raises|Yields?|Examples?|Notes?|Attributes):\s*$")
_SPHINX = re.compile(r":(param|type|returns?|rtype|raises)\b")


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
    function: Callable[..., Any], renderer: _Renderer, where: str, *, hints: Mapping[str, Any] | None = None
) -> tuple[Argument, ...]:
    hints = _hints(function, where) if hints is None else hints
    _, described = _docstring_parts(function)
    parameters = list(inspect.signature(function).parameters.values())[1:]  # skip self
    arguments = []
    for parameter in parameters:
        place = f"{where}, parameter {parameter.name!r}"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise _error(
                place,
                "*args and **kwargs cannot become tool arguments",
                "declare each argument by name with a type hint",
            )
        if parameter.name not in hints:
            raise _error(place, "it has no type hint", f"annotate it, e.g. `{parameter.name}: str`")
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


def _constructor(cls: type, renderer: _Renderer) -> tuple[Argument, ...]:
    init = cls.__init__  # type: ignore[misc]
    if init is object.__init__:
        return ()
    where = f"{cls.__name__}.__init__"
    # A dataclass's generated __init__ carries no resolvable hints; the class does.
    hints = _hints(cls, where) if dataclasses.is_dataclass(cls) else None
    arguments = _arguments(init, renderer, where, hints=hints)
    _, class_described = _docstring_parts(cls)
    arguments = tuple(
        dataclasses.replace(a, description=a.description or class_described.get(a.name, "")) for a in arguments
    )
    for argument in arguments:
        if argument.name in _RESERVED_ROW_KEYS:
            raise _error(
                f"{where}, parameter {argument.name!r}",
                "constructor arguments are read from the dataset row, where gymhall already uses this key",
                "rename the parameter",
            )
    return arguments


def _grader_candidates(cls: type) -> dict[str, tuple[GraderKind, bool]]:
    """Zero-argument methods and properties that return a bool or a number: (kind, is_property) by name."""
    found: dict[str, tuple[GraderKind, bool]] = {}
    for klass in reversed(cls.__mro__[:-1]):
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(value, property) and value.fget is not None:
                function, is_property = value.fget, True
            elif inspect.isfunction(value):
                function, is_property = value, False
                required = [
                    p
                    for p in list(inspect.signature(function).parameters.values())[1:]
                    if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                ]
                if required:
                    continue
            else:
                continue
            try:
                returns = typing.get_type_hints(function).get("return")
            except Exception:
                returns = None
            if returns is bool or (returns is None and name in _SUCCESS_NAMES):
                found[name] = ("success", is_property)
            elif returns in (int, float) or (returns is None and name in _SCORE_NAMES):
                found[name] = ("score", is_property)
    return found


def _grader(cls: type, verify_method: str | None, reward_method: str | None) -> Grader:
    if verify_method and reward_method:
        raise _error(
            cls.__name__, "both --verify-method and --reward-method were given", "give one: the method that grades"
        )
    candidates = _grader_candidates(cls)
    chosen = verify_method or reward_method
    if chosen is not None:
        attribute = inspect.getattr_static(cls, chosen, None)
        if attribute is None:
            raise _error(
                f"{cls.__name__}.{chosen}",
                "no such method",
                f"name a method that takes no arguments; candidates: {', '.join(candidates) or 'none'}",
            )
        is_property = isinstance(attribute, property)
        if not is_property and chosen not in candidates and not _callable_without_arguments(attribute):
            raise _error(f"{cls.__name__}.{chosen}", "it needs arguments, so verify cannot call it", "name another")
        return Grader(chosen, "success" if verify_method else "score", is_property)
    known = [name for name in candidates if name in _SUCCESS_NAMES + _SCORE_NAMES]
    if len(known) == 1:
        kind, is_property = candidates[known[0]]
        return Grader(known[0], kind, is_property)
    if len(known) > 1:
        raise _error(
            cls.__name__,
            f"several methods could grade an episode ({', '.join(known)})",
            f"choose one: --verify-method {known[0]} (true/false) or --reward-method NAME (a number in [0, 1])",
        )
    if candidates:
        names = ", ".join(candidates)
        raise _error(
            cls.__name__,
            f"cannot tell which method says the task is done; candidates: {names}",
            f"name it: --verify-method {next(iter(candidates))} (returns a bool) or --reward-method NAME "
            "(returns a number in [0, 1])",
        )
    return Grader(None, "answer")


def _callable_without_arguments(value: Any) -> bool:
    if not inspect.isfunction(value):
        return False
    parameters = list(inspect.signature(value).parameters.values())[1:]
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters)


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
    renderer = _Renderer()
    grader = _grader(cls, verify_method, reward_method)
    skipped = set(exclude)
    if grader.name is not None:
        skipped.add(grader.name)
    unknown = sorted(set(exclude) - set(_public_methods(cls)))
    if unknown:
        raise _error(cls.__name__, f"--exclude names no public method: {', '.join(unknown)}", "check the names")
    actions = []
    for name, function in _public_methods(cls).items():
        if name in skipped:
            continue
        where = f"{cls.__name__}.{name}"
        if name in _RESERVED_TOOLS or not _TOOL_NAME.fullmatch(name):
            raise _error(
                where,
                f"it would become POST /{name}, which the server reserves" if name in _RESERVED_TOOLS else "bad name",
                f"rename the method, or leave it out with --exclude {name}",
            )
        summary, _ = _docstring_parts(function)
        actions.append(Action(name, _arguments(function, renderer, where), summary))
    if not actions:
        raise _error(
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
    archetype: Literal["game", "sandbox", "computer-use"]
    if "screenshot" in names or {"click", "type"} <= names:
        archetype = "computer-use"
    elif grader.name in ("is_solved", "solved", "is_won", "won"):
        archetype = "game"
    else:
        archetype = "sandbox"
    path = Path(module.__file__).resolve() if module.__file__ else None
    dependencies, local_files = _dependencies(path, root) if path is not None else ((), ())
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


# --- dependencies ----------------------------------------------------------------------------------


def imported_modules(path: Path) -> set[str]:
    """The top-level names of the absolute imports in a Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def _is_local(name: str, directory: Path) -> bool:
    return (directory / f"{name}.py").is_file() or (directory / name / "__init__.py").is_file()


def requirement(import_name: str) -> str:
    """The requirement for a top-level import: its installed distribution, at least its installed major.minor."""
    distributions = importlib.metadata.packages_distributions().get(import_name)
    if not distributions:
        return import_name
    dist = distributions[0]
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return dist
    release = re.match(r"(\d+)(?:\.(\d+))?", version)
    if release is None:
        return dist
    return f"{dist}>={release.group(1)}.{release.group(2) or 0}"


def third_party(names: Iterable[str]) -> set[str]:
    """The names that are neither the standard library nor `__future__`."""
    return {n for n in names if n not in sys.stdlib_module_names and n != "__future__"}


def _dependencies(path: Path, root: Path | None) -> tuple[tuple[str, ...], tuple[Path, ...]]:
    """Requirements of the domain module (following its sibling imports) and the local files it needs."""
    directory = path.parent
    seen: set[Path] = set()
    pending = [path]
    external: set[str] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in third_party(imported_modules(current)):
            if root is not None and _is_local(name, directory):
                sibling = directory / f"{name}.py"
                if sibling.is_file():
                    pending.append(sibling)
            else:
                external.add(name)
    if root is None:  # an installed domain package: depend on its distribution
        external.add(path.parent.name if path.name == "__init__.py" else path.stem)
    requirements = sorted({requirement(name) for name in external if name != "gymhall"})
    local = tuple(sorted(seen)) if root is not None else ()
    return tuple(requirements), local


# --- writing the project ---------------------------------------------------------------------------


def _template(name: str) -> Template:
    return Template(resources.files(_TEMPLATES).joinpath(name).read_text(encoding="utf-8"))


def _docstring(text: str, indent: str) -> str:
    """`text` as a docstring body (escaped), lines indented by `indent`."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip() or "(undocumented)"
    if text.endswith('"'):
        text += " "
    lines = text.splitlines()
    return "\n".join([lines[0], *[(indent + line) if line.strip() else "" for line in lines[1:]]])


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _field(argument: Argument) -> str:
    options = []
    if argument.default is not None:
        options.append(f"default={argument.default}")
    if argument.field_name != argument.name:
        options.append(f"alias={_literal(argument.name)}")
    if argument.description:
        options.append(f"description={_literal(argument.description)}")
    if not options:
        return f"{argument.field_name}: {argument.annotation}"
    if options == [f"default={argument.default}"]:
        return f"{argument.field_name}: {argument.annotation} = {argument.default}"
    return _wrap_call(f"{argument.field_name}: {argument.annotation} = Field", options, "    ")


def _call(target: str, arguments: Sequence[Argument], source: str) -> str:
    parts = [
        f"{source}.{a.field_name}" if a.positional_only else f"{a.name}={source}.{a.field_name}" for a in arguments
    ]
    return f"{target}({', '.join(parts)})"


def _wrap_call(head: str, parts: list[str], indent: str, width: int = 120) -> str:
    """`head(part, part)` on one line when it fits, else one part per line (ruff-format style)."""
    one_line = f"{head}({', '.join(parts)})"
    if len(indent) + len(one_line) <= width:
        return one_line
    inner = indent + "    "
    return f"{head}(\n" + "".join(f"{inner}{part},\n" for part in parts) + f"{indent})"


_ENVIRONMENT_NAMES = frozenset(name for name in ("config", "config_class", "domain", "tools", "run_webserver"))


def _server_source(spec: DomainSpec, project: Path, env_class: str) -> str:
    cls = spec.class_name
    row_class, uses_field = f"{cls}Row", False
    blocks: list[str] = []
    # Arguments models, one per tool with arguments.
    tool_methods: list[str] = []
    for action in spec.actions:
        python_name = action.name if action.name not in _ENVIRONMENT_NAMES else f"{action.name}_tool"
        decorator = "@tool" if python_name == action.name else f"@tool(name={action.name!r})"
        parameters = "self, state: Episode"
        call = _call(f"state.instance.{action.name}", action.arguments, "args")
        if action.arguments:
            model = f"{_camel(action.name)}Arguments"
            fields = [_field(a) for a in action.arguments]
            uses_field = uses_field or any("Field(" in f for f in fields)
            blocks.append(
                f"class {model}(BaseModel):\n"
                f'    """The arguments of {cls}.{action.name}."""\n\n'
                '    model_config = ConfigDict(extra="forbid", populate_by_name=True)\n\n'
                + "".join(f"    {f}\n" for f in fields)
            )
            parameters += f", args: {model}"
        tool_methods.append(
            f"    {decorator}\n"
            f"    def {python_name}({parameters}) -> Any:\n"
            f'        """{_docstring(action.description, "        ")}"""\n'
            "        with _model_errors():\n"
            f"            return _result({call})\n"
        )
    # The row: the constructor's arguments.
    row_fields = [_field(a) for a in spec.constructor]
    if spec.grader.kind == "answer":
        row_fields.append("expected_answer: str")
    uses_field = uses_field or any("Field(" in f for f in row_fields)
    row_body = "".join(f"    {f}\n" for f in row_fields) or "    pass\n"
    constructor_parts = [
        f"self.row.{a.field_name}" if a.positional_only else f"{a.name}=self.row.{a.field_name}"
        for a in spec.constructor
    ]
    construct = _wrap_call(cls, constructor_parts, "            ")
    verify = _verify_source(spec)
    # Imports.
    typing_names = sorted({"Any", *spec.typing_names})
    pydantic_names = ["BaseModel", "ConfigDict", *(["Field"] if uses_field else [])]
    domain_imports: dict[str, set[str]] = {spec.module: {cls}}
    for module, imported in spec.type_imports.items():
        domain_imports.setdefault(module, set()).update(imported)
    import_lines = [
        f"from {module} import {', '.join(sorted(names))}" for module, names in sorted(domain_imports.items())
    ]
    noqa = "  # noqa: E402 - importable once the path above is set" if spec.root is not None else ""
    domain_import = "\n".join(line + noqa for line in import_lines)
    if spec.root is not None:
        relative = Path(os.path.relpath(spec.root, project)).as_posix()
        path_block = (
            f"# The domain module lives in {relative!r}, relative to this file: importable however the server starts.\n"
            f'_DOMAIN_ROOT = str((Path(__file__).resolve().parent / "{relative}").resolve())\n'
            "if _DOMAIN_ROOT not in sys.path:\n"
            "    sys.path.insert(0, _DOMAIN_ROOT)\n\n"
        )
        path_imports = "import sys\nfrom pathlib import Path\n"
    else:
        path_block, path_imports = "", ""
    stdlib = ["import base64", "import contextlib", "import dataclasses", "import enum"]
    if spec.terminate:
        stdlib.append("import json")
    stdlib.append("from collections.abc import Iterator")
    stdlib_block = "\n".join(sorted(stdlib, key=lambda s: (s.startswith("from"), s)))
    if path_imports:
        stdlib_block = "\n".join(
            sorted([*stdlib_block.splitlines(), *path_imports.splitlines()], key=lambda s: (s.startswith("from"), s))
        )
    gymhall_names = ["BaseSeedSessionRequest", "BaseVerifyRequest", "Environment", "ToolError", "tool"]
    tools_list = ", ".join(a.name for a in spec.actions)
    return _template("port/server.py.tmpl").substitute(
        module=spec.module,
        class_name=cls,
        env_class=env_class,
        row_class=row_class,
        tools_list=tools_list,
        reward_line=spec.grader.describe(cls),
        terminate_line=(
            "\nThe trajectory must also end with a terminate(success=True) call.\n" if spec.terminate else ""
        ),
        stdlib_imports=stdlib_block,
        typing_import=f"from typing import {', '.join(typing_names)}",
        pydantic_import=f"from pydantic import {', '.join(pydantic_names)}",
        gymhall_import=f"from gymhall import {', '.join(gymhall_names)}",
        path_block=path_block,
        domain_import=domain_import,
        row_body=row_body,
        construct=construct,
        argument_models="\n\n".join(blocks) + ("\n\n" if blocks else ""),
        domain=_domain_value(spec),
        tool_methods="\n".join(tool_methods),
        verify=verify,
        terminate_helper=_TERMINATE_HELPER if spec.terminate else "",
    )


_TERMINATE_HELPER = '''

def _terminated_with_success(body: BaseVerifyRequest) -> bool:
    """Whether the trajectory's last terminate call said success=True."""
    success = False
    for item in body.response.output:
        if getattr(item, "type", None) == "function_call" and getattr(item, "name", None) == "terminate":
            try:
                success = json.loads(getattr(item, "arguments", "") or "{}").get("success") is True
            except (ValueError, AttributeError):
                success = False
    return success
'''


def _verify_source(spec: DomainSpec) -> str:
    grader, lines = spec.grader, []
    if spec.terminate:
        lines += ["        if not _terminated_with_success(body):", "            return 0.0"]
    if grader.kind == "answer":
        lines.append("        return float(body.response.output_text.strip() == state.row.expected_answer.strip())")
    else:
        access = f"state.instance.{grader.name}" + ("" if grader.is_property else "()")
        if grader.kind == "success":
            lines.append(f"        return 1.0 if {access} else 0.0")
        else:
            lines.append(f"        return float({access})")
    return "\n".join(lines)


def _domain_value(spec: DomainSpec) -> str:
    return {"game": "games", "sandbox": "agent", "computer-use": "agent"}[spec.archetype]


@dataclass
class _Files:
    """The files of a project to write, by path relative to the project."""

    contents: dict[str, str] = field(default_factory=dict)

    def add(self, path: str, text: str) -> None:
        self.contents[path] = text if text.endswith("\n") else text + "\n"


def _starter_rows(spec: DomainSpec) -> list[dict[str, Any]]:
    tools = ", ".join(a.name for a in spec.actions)
    prompt = f"{spec.summary or spec.class_name} Use the tools ({tools}) to complete the task, then answer."
    row: dict[str, Any] = {"responses_create_params": {"input": [{"role": "user", "content": prompt}]}}
    for argument in spec.constructor:
        if argument.default is None:
            row[argument.name] = None
    if spec.grader.kind == "answer":
        row["expected_answer"] = ""
    row["reference_solution"] = {"tool_calls": [], "answer": ""}
    return [row]


def project_files(
    spec: DomainSpec,
    project: Path,
    *,
    rows: Sequence[Mapping[str, Any]] | None = None,
    domain: str | None = None,
    command: str = "",
) -> dict[str, str]:
    """The text of every file of the project for `spec`, by path relative to `project`."""
    from gymhall import __version__

    project = project.resolve()
    env = spec.env_name
    env_class = f"{spec.class_name}Environment"
    files = _Files()
    server = _server_source(spec, project, env_class)
    if domain is not None:
        server = server.replace(f'domain = "{_domain_value(spec)}"', f'domain = "{domain}"', 1)
    files.add("server.py", server)
    requirements = [f"gymhall>={__version__}", "pydantic>=2.7", *spec.dependencies]
    description = f"{spec.class_name} ({spec.module}) served as a gymhall environment."
    files.add(
        "pyproject.toml",
        _template("port/pyproject.toml.tmpl").substitute(
            name=f"{env.replace('_', '-')}-gymhall",
            description=json.dumps(description),
            dependencies="".join(f"    {json.dumps(r)},\n" for r in requirements),
        ),
    )
    context = Path(os.path.commonpath([project, *(p.parent for p in spec.local_files)])) if spec.local_files else None
    files.add("Dockerfile", _dockerfile(spec, project, context))
    config_description = f"{spec.class_name} from {spec.module}; tools: {', '.join(a.name for a in spec.actions)}"
    files.add(
        f"configs/{env}.yaml",
        _template("port/config.yaml.tmpl").substitute(
            env=env,
            domain=domain or _domain_value(spec),
            description=json.dumps(config_description + "; reward: " + spec.grader.describe(spec.class_name)),
        ),
    )
    files.add("rollout.py", _template("port/rollout.py.tmpl").substitute(env=env, class_name=spec.class_name))
    dataset = rows if rows is not None else _starter_rows(spec)
    files.add("data/example.jsonl", "".join(json.dumps(dict(row)) + "\n" for row in dataset))
    files.add(
        "tests/test_server.py",
        _template("port/test_server.py.tmpl").substitute(
            env=env,
            env_class=env_class,
            class_name=spec.class_name,
            tool_names=json.dumps(sorted(a.name for a in spec.actions)),
        ),
    )
    files.add("README.md", _readme(spec, project, context, env_class, command))
    return files.contents


def _dockerfile(spec: DomainSpec, project: Path, context: Path | None) -> str:
    if context is None:  # an installed domain package: the image only needs the project
        context = project
    in_context = Path(os.path.relpath(project, context)).as_posix()
    if in_context == ".":
        copies = ["COPY . ./"]
    else:
        copies = [f"COPY {Path(os.path.relpath(p, context)).as_posix()} ./" for p in spec.local_files]
        copies.append(f"COPY {in_context}/ ./{in_context}/")
    pyproject = "pyproject.toml" if in_context == "." else f"{in_context}/pyproject.toml"
    return _template("port/Dockerfile.tmpl").substitute(
        env=env_tag(spec),
        pyproject=pyproject,
        copies="\n".join(copies),
        workdir="/app" if in_context == "." else f"/app/{in_context}",
        dockerfile="Dockerfile" if in_context == "." else f"{in_context}/Dockerfile",
        context_note="the project directory" if in_context == "." else f"the directory holding {in_context}/",
    )


def env_tag(spec: DomainSpec) -> str:
    """The image tag the README and Dockerfile suggest."""
    return f"{spec.env_name.replace('_', '-')}-gymhall"


def _readme(spec: DomainSpec, project: Path, context: Path | None, env_class: str, command: str) -> str:
    rows = []
    for action in spec.actions:
        arguments = ", ".join(f"{a.name}: {a.annotation}" for a in action.arguments)
        summary = action.description.partition("\n")[0] or "(undocumented)"
        rows.append(f"| `{action.name}({arguments})` | {summary.replace('|', '/')} |")
    row_fields = ", ".join(f"`{a.name}`" for a in spec.constructor) or "none"
    in_context = Path(os.path.relpath(project, context or project)).as_posix()
    build = (
        f"docker build -t {env_tag(spec)} ."
        if in_context == "."
        else f"docker build -f {in_context}/Dockerfile -t {env_tag(spec)} ."
    )
    context_dir = "this directory" if in_context == "." else f"the directory above `{in_context}/`"
    return _template("port/README.md.tmpl").substitute(
        env=env_name_title(spec),
        env_name=spec.env_name,
        class_name=spec.class_name,
        module=spec.module,
        env_class=env_class,
        summary=spec.summary or f"{spec.class_name} served as a gymhall environment.",
        tool_rows="\n".join(rows),
        row_fields=row_fields,
        reward=spec.grader.describe(spec.class_name)
        + (", and only if the trajectory ends with terminate(success=True)" if spec.terminate else ""),
        build=build,
        context_dir=context_dir,
        tag=env_tag(spec),
        command=command or f"gymhall port {spec.module}:{spec.class_name} --force",
        dependencies=", ".join(spec.dependencies) or "none beyond gymhall",
    )


def env_name_title(spec: DomainSpec) -> str:
    """A title for the README: the environment's name in words."""
    return spec.env_name.replace("_", " ").title()


def write_files(project: Path, contents: Mapping[str, str], *, force: bool = False) -> list[Path]:
    """Write `contents` under `project`; refuses to replace a file whose text differs unless `force`."""
    clashes = [
        path
        for path, text in contents.items()
        if (project / path).exists() and (project / path).read_text(encoding="utf-8") != text
    ]
    if clashes and not force:
        shown = ", ".join(sorted(clashes)[:5])
        raise _error(
            str(project),
            f"{len(clashes)} file(s) exist with other content ({shown})",
            "choose another --out, or pass --force to replace them",
        )
    written = []
    for path, text in contents.items():
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def write_project(
    spec: DomainSpec,
    project: Path,
    *,
    rows: Sequence[Mapping[str, Any]] | None = None,
    domain: str | None = None,
    force: bool = False,
    command: str = "",
) -> list[Path]:
    """Write the project for `spec` into `project`; returns the files written."""
    return write_files(project, project_files(spec, project, rows=rows, domain=domain, command=command), force=force)


def port(
    target: str,
    *,
    out: Path | None = None,
    dataset: Path | None = None,
    verify_method: str | None = None,
    reward_method: str | None = None,
    exclude: Iterable[str] = (),
    domain: str | None = None,
    force: bool = False,
) -> tuple[DomainSpec, Path, list[Path]]:
    """`gymhall port`: load `target`, read it, write its project; returns the spec, the project and the files.

    The project goes to `out`, by default a `gymhall/` folder beside the domain module.
    """
    from gymhall._config import Domain
    from gymhall._datasets import read_rows

    if domain is not None and domain not in {d.value for d in Domain}:
        allowed = ", ".join(d.value for d in Domain)
        raise _error(f"--domain {domain}", "not a domain gymhall knows", f"use one of: {allowed}")
    cls, root = load_domain(target)
    spec = inspect_domain(cls, root=root, verify_method=verify_method, reward_method=reward_method, exclude=exclude)
    if spec.env_name in ("server", "rollout", "gymhall"):
        raise _error(
            spec.module, f"a domain module named {spec.env_name!r} would clash with the project's own", "rename it"
        )
    if out is None:
        module_file = sys.modules[cls.__module__].__file__
        out = (Path(module_file).resolve().parent if module_file else Path.cwd()) / "gymhall"
    rows = read_rows(dataset) if dataset is not None else None
    flags = [f"--out {out}"]
    if dataset is not None:
        flags.append(f"--dataset {dataset}")
    if verify_method:
        flags.append(f"--verify-method {verify_method}")
    if reward_method:
        flags.append(f"--reward-method {reward_method}")
    flags.extend(f"--exclude {name}" for name in exclude)
    command = f"gymhall port {target} {' '.join(flags)} --force"
    written = write_project(spec, out, rows=rows, domain=domain, force=force, command=command)
    return spec, out.resolve(), written
