"""A domain method's type hints and defaults, as the Python source the generated server is written with.

    renderer = HintRenderer()
    renderer.annotation(list[Color], "Game.paint, parameter 'colors'")  # "list[Color]"
    renderer.imports  # {"game": {"Color"}}: what the generated module must import

Only what a strict tool schema can hold is accepted: str, int, float, bool, None, Literal, Enum, and
lists or tuples of those; anything else is a `PortError` naming the parameter and the fix.
"""

from __future__ import annotations

import enum
import inspect
import json
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

from gymhall.exceptions import PortError, port_error

__all__ = ["HintRenderer", "python_literal", "resolved_hints"]

_PRIMITIVES: dict[Any, str] = {str: "str", int: "int", float: "float", bool: "bool", type(None): "None"}


def python_literal(value: Any) -> str:
    """Python source for a plain value; strings double-quoted, as ruff formats them."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def resolved_hints(function: Callable[..., Any], where: str) -> dict[str, Any]:
    """`function`'s type hints, resolved; a `PortError` naming `where` when a name in them is unknown."""
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception as exc:
        raise port_error(
            where,
            f"its type hints cannot be resolved ({type(exc).__name__}: {exc})",
            "import every name the hints use at the top level of the module",
        ) from None


class HintRenderer:
    """Writes type hints as source text, recording what the generated module must import."""

    def __init__(self) -> None:
        self.imports: dict[str, set[str]] = {}
        self.typing: set[str] = set()

    def annotation(self, hint: Any, where: str) -> str:
        """The source of `hint`, e.g. `list[int] | None`."""
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

    def default(self, value: Any, where: str) -> str:
        """The source of the default `value`, e.g. `Color.RED` or `[1, 2]`."""
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

    def _named(self, cls: type, where: str) -> str:
        top = cls.__qualname__.partition(".")[0]
        module = sys.modules.get(cls.__module__)
        if module is None or "<locals>" in cls.__qualname__ or getattr(module, top, None) is None:
            raise self._unsupported(cls, where, f"define {cls.__name__} at the top level of its module")
        self.imports.setdefault(cls.__module__, set()).add(top)
        return cls.__qualname__

    @staticmethod
    def _unsupported(hint: Any, where: str, fix: str) -> PortError:
        name = getattr(hint, "__qualname__", None) if inspect.isclass(hint) else None
        return port_error(where, f"its type {name or hint!r} is not supported in a tool schema", fix)
