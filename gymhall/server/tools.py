"""Tools: the `@tool` decorator records a `ToolSpec`; schemas come from the tool's pydantic model.

A tool's arguments are a pydantic model, either declared (one parameter annotated with a model)
or built from the method's keyword parameters. The same model validates what the model sends and
produces the OpenAI function-tool schema served by `GET /tools`, so the two cannot drift.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ConfigDict, create_model

from gymhall.server.sessions import Session
from gymhall.server.strict_schema import strict_json_schema

__all__ = ["ToolSpec", "strict_tool_schema", "tool", "tool_specs"]

F = TypeVar("F", bound=Callable[..., Any])

_SPEC_ATTRIBUTE = "__gymhall_tool__"
_STATE_PARAMETER = "state"


@dataclass(frozen=True)
class ToolSpec:
    """What `@tool` recorded about one tool method."""

    name: str
    function: Callable[..., Any]
    args_model: type[BaseModel]
    description: str
    takes_state: bool
    session_parameter: str | None  # the parameter receiving the `Session`, if any
    model_parameter: str | None  # the parameter receiving the whole args model, if declared that way

    def call_arguments(self, args: BaseModel) -> dict[str, Any]:
        """Keyword arguments for the tool function, from validated `args`."""
        if self.model_parameter is not None:
            return {self.model_parameter: args}
        return {name: getattr(args, name) for name in type(args).model_fields}

    def schema(self) -> dict[str, Any]:
        """The OpenAI Responses function-tool schema, valid for strict mode."""
        return strict_tool_schema(self.name, self.args_model, self.description)


def _args_model(function: Callable[..., Any], name: str) -> tuple[type[BaseModel], bool, str | None, str | None]:
    hints = typing.get_type_hints(function, include_extras=True)
    parameters = list(inspect.signature(function).parameters.values())[1:]  # skip self
    takes_state = False
    session_parameter: str | None = None
    fields: dict[str, Any] = {}
    model_parameter: str | None = None
    for parameter in parameters:
        annotation = hints.get(parameter.name, Any)
        if parameter.name == _STATE_PARAMETER:
            takes_state = True
            continue
        if annotation is Session:
            session_parameter = parameter.name
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"Tool {name!r} cannot take *args or **kwargs; declare each argument with a type.")
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and not fields:
            model_parameter = parameter.name
            fields[parameter.name] = annotation
            continue
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)
    if model_parameter is not None:
        if len(fields) > 1:
            raise TypeError(f"Tool {name!r} takes a model argument and other arguments; use one or the other.")
        return fields[model_parameter], takes_state, session_parameter, model_parameter
    title = "".join(part.capitalize() for part in name.split("_")) + "Arguments"
    model = create_model(title, __config__=ConfigDict(extra="forbid"), **fields)
    return model, takes_state, session_parameter, None


@overload
def tool(function: F, /) -> F: ...
@overload
def tool(*, name: str | None = None, description: str | None = None) -> Callable[[F], F]: ...
def tool(
    function: F | None = None, /, *, name: str | None = None, description: str | None = None
) -> F | Callable[[F], F]:
    """Declare an environment method as a tool the model can call.

    The method receives the session's state as its `state` parameter (if it has one) and the
    model's arguments as keyword parameters, or as one pydantic model parameter::

        @tool
        async def increment(self, state: Counter, by: int) -> dict[str, int]:
            \"\"\"Add `by` to the counter.\"\"\"
            state.value += by
            return {"value": state.value}

    The decorator only records a `ToolSpec`; `build_app` turns specs into routes.
    """

    def record(func: F) -> F:
        tool_name = name or func.__name__
        if not tool_name.isidentifier():
            raise ValueError(f"Tool name {tool_name!r} must be a Python identifier (it becomes POST /{tool_name}).")
        args_model, takes_state, session_parameter, model_parameter = _args_model(func, tool_name)
        text = description if description is not None else inspect.getdoc(func) or ""
        spec = ToolSpec(tool_name, func, args_model, text, takes_state, session_parameter, model_parameter)
        setattr(func, _SPEC_ATTRIBUTE, spec)
        return func

    return record(function) if function is not None else record


def tool_specs(cls: type) -> list[ToolSpec]:
    """The tools declared on `cls` and its bases, in definition order."""
    specs: dict[str, ToolSpec] = {}
    for klass in reversed(cls.__mro__):
        for attribute in vars(klass).values():
            spec = getattr(attribute, _SPEC_ATTRIBUTE, None)
            if isinstance(spec, ToolSpec):
                specs[spec.name] = spec
    return list(specs.values())


def _clean(schema: Any, *, names: bool = False) -> Any:
    """Drop the `title` and `default` keywords strict mode refuses; a property *named* title or default stays."""
    if isinstance(schema, dict):
        if names:  # the keys of `properties` / `$defs` are names, not keywords
            return {k: _clean(v) for k, v in schema.items()}
        return {
            k: _clean(v, names=k in ("properties", "$defs", "definitions"))
            for k, v in schema.items()
            if k not in ("title", "default")
        }
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    return schema


def strict_tool_schema(name: str, model: type[BaseModel], description: str = "") -> dict[str, Any]:
    """An OpenAI Responses function tool for `model`, in strict mode.

    The strict form of the model's schema (`strict_json_schema`: every property required, optional
    ones nullable, no additional properties), without `title` and `default`, which strict mode refuses.
    """
    return {
        "type": "function",
        "name": name,
        "description": description,
        "parameters": _clean(strict_json_schema(model)),
        "strict": True,
    }
