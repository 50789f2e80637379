"""A domain class, as `gymhall port` reads it: the tools, the row fields and the grader it offers.

    cls, root = load_domain("examples/port/sliding_puzzle/sliding_puzzle.py")
    spec = inspect_domain(cls, root=root)

`load_domain` imports a module by file path or dotted name and picks its class. `inspect_domain` reads
the class into a `DomainSpec`: each public method becomes an `Action` (a tool) whose `Argument`s are
written from the method's type hints; the constructor's parameters become dataset-row fields; the method
that grades an episode (`is_solved()`, `score()`, ... or the one named by `verify_method` /
`reward_method`) becomes the `Grader`; the module's imports give its dependencies. Writing the project
from a `DomainSpec` is `gymhall.generator.port`'s job.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import importlib.metadata
import inspect
import json
import keyword
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gymhall.exceptions import PortError, port_error
from gymhall.generator.dependencies import module_dependencies

__all__ = [
    "Action",
    "Argument",
    "DomainSpec",
    "Grader",
    "GraderKind",
    "inspect_domain",
    "load_domain",
    "python_literal",
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
        raise port_error(target, f"{path} is not a file", "name an existing Python file, e.g. games/puzzle.py:Puzzle")
    if path.suffix != ".py" or not path.stem.isidentifier():
        raise port_error(target, f"{path.name} is not an importable Python module name", "rename it to name.py")
    path = path.resolve()
    root = path.parent
    if path.name == "__init__.py":
        raise port_error(
            target, "a package's __init__.py", "name the module by its dotted name instead, e.g. pkg.module"
        )
    existing = sys.modules.get(path.stem)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() != path:
        raise port_error(
            target,
            f"another module named {path.stem!r} is already imported (from {existing.__file__})",
            "rename the domain module so that its name is unique",
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return _import(path.stem, target), root


def _import_name(name: str, base: Path, target: str) -> tuple[types.ModuleType, Path | None]:
    if not all(part.isidentifier() for part in name.split(".")):
        raise port_error(
            target, f"{name!r} is neither a .py file nor a dotted module name", "e.g. puzzle.py or pkg.puzzle"
        )
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
        raise port_error(target, f"cannot import module {name!r} ({type(exc).__name__}: {exc})", fix) from None
    except Exception as exc:  # the module's own code failed while importing
        raise port_error(
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
            raise port_error(
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
        raise port_error(
            target,
            f"module {module.__name__!r} defines no public class with public methods",
            "add one (its public methods become the tools), or name a class: MODULE:CLASS",
        )
    names = ", ".join(cls.__name__ for cls in usable)
    raise port_error(
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
            return f"Literal[{', '.join(python_literal(a) for a in args)}]"
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
            return python_literal(value)
        if isinstance(value, list | tuple) and all(v is None or isinstance(v, bool | int | float | str) for v in value):
            items = ", ".join(python_literal(v) for v in value)
            return f"[{items}]" if isinstance(value, list) else f"({items}{',' if len(value) == 1 else ''})"
        raise port_error(
            where,
            f"its default {value!r} ({type(value).__name__}) cannot be written into the server",
            "use a default that is None, a number, a string, a boolean, an Enum member, or a list of those",
        )

    @staticmethod
    def _unsupported(hint: Any, where: str, fix: str) -> PortError:
        name = getattr(hint, "__qualname__", None) if inspect.isclass(hint) else None
        return port_error(where, f"its type {name or hint!r} is not supported in a tool schema", fix)


def python_literal(value: Any) -> str:
    """Python source for a plain value; strings double-quoted, as ruff formats them."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _hints(function: Callable[..., Any], where: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception as exc:
        raise port_error(
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
            raise port_error(
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
        raise port_error(
            cls.__name__, "both --verify-method and --reward-method were given", "give one: the method that grades"
        )
    candidates = _grader_candidates(cls)
    chosen = verify_method or reward_method
    if chosen is not None:
        attribute = inspect.getattr_static(cls, chosen, None)
        if attribute is None:
            raise port_error(
                f"{cls.__name__}.{chosen}",
                "no such method",
                f"name a method that takes no arguments; candidates: {', '.join(candidates) or 'none'}",
            )
        is_property = isinstance(attribute, property)
        if not is_property and chosen not in candidates and not _callable_without_arguments(attribute):
            raise port_error(f"{cls.__name__}.{chosen}", "it needs arguments, so verify cannot call it", "name another")
        return Grader(chosen, "success" if verify_method else "score", is_property)
    known = [name for name in candidates if name in _SUCCESS_NAMES + _SCORE_NAMES]
    if len(known) == 1:
        kind, is_property = candidates[known[0]]
        return Grader(known[0], kind, is_property)
    if len(known) > 1:
        raise port_error(
            cls.__name__,
            f"several methods could grade an episode ({', '.join(known)})",
            f"choose one: --verify-method {known[0]} (true/false) or --reward-method NAME (a number in [0, 1])",
        )
    if candidates:
        names = ", ".join(candidates)
        raise port_error(
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
        raise port_error(cls.__name__, f"--exclude names no public method: {', '.join(unknown)}", "check the names")
    actions = []
    for name, function in _public_methods(cls).items():
        if name in skipped:
            continue
        where = f"{cls.__name__}.{name}"
        if name in _RESERVED_TOOLS or not _TOOL_NAME.fullmatch(name):
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
    archetype: Literal["game", "sandbox", "computer-use"]
    if "screenshot" in names or {"click", "type"} <= names:
        archetype = "computer-use"
    elif grader.name in ("is_solved", "solved", "is_won", "won"):
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
