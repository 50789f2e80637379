"""Whether an answer holds the values of the expected record, as a careful grader compares them.

Schema validation says an answer has the right shape; an extraction task also has right values: the
record its document was written from. Values compare as a person would: text ignoring case, runs
of whitespace and a final full stop; numbers by value (`12` = `12.0`; floats to a relative 1e-9);
booleans and null exactly; objects key by key; arrays item by item in order, except arrays the
schema declares `uniqueItems` (sets such as tags or skills), which may come in any order.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["first_mismatch", "same_text"]

_SHOWN = 60  # characters of a value quoted in a mismatch message


def same_text(expected: str, actual: str) -> bool:
    """Whether two strings say the same: case, runs of whitespace and a final full stop aside."""

    def plain(text: str) -> str:
        return " ".join(text.split()).removesuffix(".").rstrip().casefold()

    return plain(expected) == plain(actual)


def _same_number(expected: float, actual: float) -> bool:
    return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-9)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _child(schema: Any, key: str) -> Any:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties.get(key) if isinstance(properties, dict) else None


def _items(schema: Any) -> Any:
    return schema.get("items") if isinstance(schema, dict) else None


def _unordered(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("uniqueItems") is True


def first_mismatch(expected: Any, actual: Any, schema: Any = None, path: str = "$") -> str | None:
    """None if `actual` holds the values of `expected`, else where and how it differs (one line).

    `schema` (the row's JSON Schema, strict) tells which arrays are sets; it is followed through
    `properties` and `items` only, which is where the bundled schemas declare them.
    """
    if isinstance(expected, bool) or expected is None:
        same = actual is expected
    elif isinstance(expected, int | float):
        same = isinstance(actual, int | float) and not isinstance(actual, bool) and _same_number(expected, actual)
    elif isinstance(expected, str):
        same = isinstance(actual, str) and same_text(expected, actual)
    elif isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {_shown(actual)}"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}.{key}: missing (expected {_shown(value)})"
            found = first_mismatch(value, actual[key], _child(schema, key), f"{path}.{key}")
            if found is not None:
                return found
        extra = sorted(set(actual) - set(expected))
        return f"{path}.{extra[0]}: not in the document's record" if extra else None
    elif isinstance(expected, list):
        return _list_mismatch(expected, actual, schema, path)
    else:
        same = expected == actual
    return None if same else f"{path}: expected {_shown(expected)}, got {_shown(actual)}"


def _list_mismatch(expected: list[Any], actual: Any, schema: Any, path: str) -> str | None:
    if not isinstance(actual, list):
        return f"{path}: expected an array, got {_shown(actual)}"
    if len(actual) != len(expected):
        return f"{path}: expected {len(expected)} items, got {len(actual)}"
    items = _items(schema)
    if not _unordered(schema):
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found = first_mismatch(want, got, items, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    unmatched = list(actual)
    for index, want in enumerate(expected):
        at = next((i for i, got in enumerate(unmatched) if first_mismatch(want, got, items) is None), None)
        if at is None:
            return f"{path}[{index}]: {_shown(want)} is not in the answer's items"
        del unmatched[at]
    return None
