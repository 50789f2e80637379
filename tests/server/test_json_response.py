"""Serializing an endpoint's result: pydantic models natively, the rest with orjson."""

from __future__ import annotations

import orjson
import pytest
from pydantic import BaseModel

from gymhall.server.json_response import dump_json, error_json


class Point(BaseModel):
    x: int
    tags: set[str] = set()


def test_models_sets_and_nested_models_serialize() -> None:
    assert orjson.loads(dump_json(Point(x=1))) == {"x": 1, "tags": []}
    assert orjson.loads(dump_json({"p": Point(x=2), "s": frozenset({"a"})})) == {"p": {"x": 2, "tags": []}, "s": ["a"]}


def test_an_unserializable_value_names_its_type() -> None:
    with pytest.raises(TypeError, match="object"):
        dump_json({"o": object()})


def test_an_error_body_with_an_integer_past_64_bits_still_serializes() -> None:
    # orjson refuses such an integer without asking `default`: the error answer itself used to crash.
    body = {"detail": [{"input": 2**64, "loc": ["body", Point(x=1)]}], "error": "validation_error"}
    assert orjson.loads(error_json(body))["detail"][0]["input"] == 2**64
