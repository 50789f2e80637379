"""`strict_json_schema` gives the OpenAI SDK's strict conversion for every bundled tool and the hard shapes."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

import pytest
from openai import pydantic_function_tool
from pydantic import BaseModel, Field

from gymhall.config.loading import load_config
from gymhall.config.registry import list_envs
from gymhall.server.app import GymApp
from gymhall.server.entrypoints import build_server_app
from gymhall.server.route import RouteKind
from gymhall.server.strict_schema import strict_json_schema
from gymhall.testing import OFFLINE_OVERRIDES


def _sdk(model: type[BaseModel]) -> dict[str, Any]:
    return dict(pydantic_function_tool(model, name="f")["function"]["parameters"])


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    number: int | None = None


class Person(BaseModel):
    """A person, described."""

    name: str = Field(description="Full name.")
    home: Address = Field(description="Where they live.")  # a $ref with a sibling keyword: inlined
    work: Address | None = None
    previous: list[Address] = []
    colour: Colour = Colour.RED
    mood: Literal["calm", "busy"] = "calm"
    tags: dict[str, int] = {}
    nickname: Annotated[str | None, Field(max_length=20)] = None


class Tree(BaseModel):
    label: str
    children: list[Tree] = []


@pytest.mark.parametrize("model", [Address, Person, Tree])
def test_hard_shapes_convert_as_the_sdk_converts_them(model: type[BaseModel]) -> None:
    assert strict_json_schema(model) == _sdk(model)


def _tool_models(app: GymApp) -> list[type[BaseModel]]:
    return [r.body_model for r in app.gym_routes() if r.kind is RouteKind.TOOL and r.body_model is not None]


def test_every_bundled_tool_converts_as_the_sdk_converts_it() -> None:
    checked = 0
    for env in list_envs():
        instance = load_config([str(env.config)], OFFLINE_OVERRIDES.get(env.id, []))
        app = build_server_app(instance.resources_server(None))
        for model in _tool_models(app):
            assert strict_json_schema(model) == _sdk(model), f"{env.id}: {model.__name__}"
            checked += 1
    assert checked >= 15  # every tool of the 11 bundled configs today


def test_a_reference_outside_the_schema_is_refused_by_name() -> None:
    class Odd(BaseModel):
        x: int

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
            return {"type": "object", "properties": {"x": {"$ref": "other.json#/x", "description": "d"}}}

    with pytest.raises(ValueError, match="other.json"):
        strict_json_schema(Odd)
