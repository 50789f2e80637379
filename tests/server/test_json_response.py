"""Serializing an endpoint's result: pydantic models natively, the rest with orjson."""

from __future__ import annotations

import orjson
import pytest
from pydantic import BaseModel

from gymhall.server.json_response import dump_json


class Point(BaseModel):
    x: int
    tags: set[str] = set()


def test_models_sets_and_nested_models_serialize() -> None:
    assert orjson.loads(dump_json(Point(x=1))) == {"x": 1, "tags": []}
    assert orjson.loads(dump_json({"p": Point(x=2), "s": frozenset({"a"})})) == {"p": {"x": 2, "tags": []}, "s": ["a"]}


def test_an_unserializable_value_names_its_type() -> None:
    with pytest.raises(TypeError, match="object"):
        dump_json({"o": object()})
