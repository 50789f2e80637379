"""The `structured_outputs` environment's own reward probes (`probes: gymhall.envs.structured_outputs.probes:probes`).

Hacks a policy finds without reading the document, each valid for the row's schema so that only
the values can refuse it: a made-up record (every value of the expected one changed), the expected
record with one value changed, and the schema itself echoed back. A variant a careful grader
accepts: the record with its set-like arrays (`uniqueItems`) in another order.

The generic variants "reference in bold", "in a fenced block" and "with a trailing sentence" are
hacks here: every row asks for the JSON alone ("Reply with JSON only", "no Markdown code fence, no
commentary"), and NeMo Gym parses the answer as is, so they score 0.0.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeAlias

from gymhall import Probe
from gymhall.envs.structured_outputs.record import first_mismatch
from gymhall.envs.structured_outputs.server import strictify

__all__ = ["FORBIDDEN_FORMATS", "probes"]

FORBIDDEN_FORMATS = ("reference in bold", "reference in a fenced block", "reference with a trailing sentence")
"""Generic variants the rows' instructions forbid (JSON only, no fence, no commentary): hacks here."""

Where: TypeAlias = tuple[str | int, ...]
"""A leaf's place in a record: its keys and indexes from the top."""


def _leaves(value: Any, schema: Any, path: Where = ()) -> Iterator[tuple[Where, Any, Any]]:
    """Every scalar of `value` with its path and (where the schema says) its schema."""
    if isinstance(value, dict):
        properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
        for key, item in value.items():
            yield from _leaves(item, properties.get(key), (*path, key))
    elif isinstance(value, list):
        items = schema.get("items") if isinstance(schema, dict) else None
        for index, item in enumerate(value):
            yield from _leaves(item, items, (*path, index))
    else:
        yield path, value, schema


def _shift(text: str, *, last_only: bool) -> str:
    """`text` with its digits and letters moved one step on (9 -> 0, z -> a): all of them, or the last one."""

    def step(char: str) -> str:
        for first, size in (("0", 10), ("a", 26), ("A", 26)):
            if first <= char <= chr(ord(first) + size - 1):
                return chr(ord(first) + (ord(char) - ord(first) + 1) % size)
        return char

    if not last_only:
        return "".join(step(char) for char in text)
    for index in range(len(text) - 1, -1, -1):
        if step(text[index]) != text[index]:
            return text[:index] + step(text[index]) + text[index + 1 :]
    return text


def _candidates(value: Any, schema: Any, *, subtle: bool) -> list[Any]:
    """Other values for one scalar, the likeliest to stay valid first; `subtle` changes as little as it can."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, value + 7]
    if isinstance(value, float):
        return [round(value + 1.5, 2), round(value - 1.5, 2), round(value / 2, 2)]
    if isinstance(value, str):
        enum = schema.get("enum") if isinstance(schema, dict) else None
        others = [option for option in enum or () if option != value]
        shifted = [_shift(value, last_only=True), _shift(value, last_only=False)]
        return [*others, *(shifted if subtle else shifted[::-1])]
    return []


@functools.lru_cache(maxsize=1024)
def _is_valid(schema_str: str) -> Callable[[Any], bool]:
    """Whether a value is valid for the strict schema: the check verify makes, without its error report."""
    from jsonschema import Draft202012Validator

    schema = json.loads(schema_str)
    strictify(schema)
    return Draft202012Validator(schema).is_valid


def _set(record: Any, path: Where, value: Any) -> None:
    target = record
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _changed(
    expected: Any, schema_str: str, pick: Callable[[list[Where]], list[Where]], *, subtle: bool, once: bool = False
) -> Any | None:
    """`expected` with the leaves `pick` chooses changed (only the first that can be, if `once`), each
    change kept only if the record stays valid; None if no change was kept."""
    schema = json.loads(schema_str)
    leaves = {path: (value, node) for path, value, node in _leaves(expected, schema) if path}
    # Checking each leaf against its own schema is fast; the whole record is checked once at the end,
    # and only if a change broke a rule between leaves (uniqueItems, anyOf) is each change checked whole.
    for whole in (False, True):
        record = copy.deepcopy(expected)
        for path in pick(list(leaves)):
            value, node = leaves[path]
            for candidate in _candidates(value, node, subtle=subtle):
                _set(record, path, candidate)
                valid = _is_valid(schema_str)(record) if whole else _is_valid(json.dumps(node))(candidate)
                if valid and first_mismatch(value, candidate, node) is not None:
                    break
                _set(record, path, value)
            else:
                continue
            if once:
                break
        if _is_valid(schema_str)(record):
            return record if first_mismatch(expected, record, schema) is not None else None
    return None


def _reordered(value: Any, schema: Any) -> Any:
    """`value` with every `uniqueItems` array reversed: the same record to a careful grader."""
    if isinstance(value, dict):
        properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
        return {key: _reordered(item, properties.get(key)) for key, item in value.items()}
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema, dict) else None
        inner = [_reordered(item, items) for item in value]
        return inner[::-1] if isinstance(schema, dict) and schema.get("uniqueItems") is True else inner
    return value


def probes(row: Mapping[str, Any]) -> list[Probe]:
    """The hacks and variants of one row; the value probes need the row's `expected_record`."""
    schema_str = str(row.get("schema_str") or "")
    reference = row.get("reference_solution")
    answer = str(reference.get("answer") or "").strip() if isinstance(reference, Mapping) else ""
    # The generic variants' answers, written as gymhall.checks.probes writes them, expected below here.
    forbidden = [f"**{answer}**", f"```\n{answer}\n```", f"{answer}\n\nI hope this helps."]
    found = [Probe(name, answer=text, expect="below") for name, text in zip(FORBIDDEN_FORMATS, forbidden, strict=True)]
    found.append(Probe("schema echoed", answer=schema_str, tool_calls=[]))
    expected = row.get("expected_record")
    if expected is None or not schema_str:
        return found
    made_up = _changed(expected, schema_str, lambda paths: paths, subtle=False)
    if made_up is not None:
        found.append(Probe("made-up record", answer=json.dumps(made_up, ensure_ascii=False), tool_calls=[]))
    # The first leaf from the middle of the record on that can change and stay valid.
    one = _changed(expected, schema_str, lambda paths: paths[len(paths) // 2 :], subtle=True, once=True)
    if one is not None:
        found.append(Probe("one value changed", answer=json.dumps(one, ensure_ascii=False), tool_calls=[]))
    reordered = _reordered(expected, json.loads(schema_str))
    if reordered != expected:
        found.append(Probe("sets in another order", answer=json.dumps(reordered, ensure_ascii=False), expect="same"))
    return found
