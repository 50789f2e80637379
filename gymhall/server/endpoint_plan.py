"""How `GymRoute` calls an endpoint on the short path: a plan read once from its signature, at registration.

An endpoint whose parameters are all a pydantic body model, a `Request`, a `Response` or a `Session` gets a
plan; any other signature (path or query parameters, dependencies, `*args`) gets None and is left to
FastAPI's resolver.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from gymhall.server.sessions import Session

__all__ = ["EndpointParam", "EndpointPlan", "openapi_stub", "plan_endpoint"]


class EndpointParam(Enum):
    """What the short path passes for one parameter of an endpoint."""

    BODY = "body"  # the request body, validated into the parameter's pydantic model
    REQUEST = "request"  # a Starlette `Request` whose body is already read
    RESPONSE = "response"  # a `Response` whose status and headers the answer takes
    SESSION = "session"  # the live `Session` of the request


EndpointPlan = tuple[list[tuple[str, EndpointParam]], type[BaseModel] | None]
"""Each parameter's name with what to pass for it, and the body model (None when the endpoint takes no body)."""


def plan_endpoint(endpoint: Callable[..., Any]) -> EndpointPlan | None:
    """How to call `endpoint` on the short path, or None when only FastAPI's resolver can."""
    try:
        hints = typing.get_type_hints(endpoint)
        parameters = inspect.signature(endpoint).parameters.values()
    except (NameError, TypeError, ValueError):
        return None
    plan: list[tuple[str, EndpointParam]] = []
    body_model: type[BaseModel] | None = None
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            return None
        annotation = hints.get(parameter.name)
        if not isinstance(annotation, type):
            return None
        if issubclass(annotation, BaseModel):
            if body_model is not None:
                return None
            body_model = annotation
            plan.append((parameter.name, EndpointParam.BODY))
        elif issubclass(annotation, Request):
            plan.append((parameter.name, EndpointParam.REQUEST))
        elif issubclass(annotation, Response):
            plan.append((parameter.name, EndpointParam.RESPONSE))
        elif issubclass(annotation, Session):
            plan.append((parameter.name, EndpointParam.SESSION))
        else:
            return None
    return plan, body_model


def openapi_stub(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A parameterless stand-in for FastAPI's analysis: FastAPI would otherwise build its own copy of
    every body model's validator (megabytes for the Responses types). `GymApp.openapi` documents bodies."""

    async def stub() -> Any:
        raise AssertionError("served by GymRoute; never called")

    stub.__doc__ = endpoint.__doc__
    stub.__name__ = getattr(endpoint, "__name__", "endpoint")
    return stub
