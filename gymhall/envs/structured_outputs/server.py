"""Structured outputs: is the model's answer valid for the row's JSON Schema? No tools, one verify.

Row fields and reward semantics are NeMo Gym's `structured_outputs` server's, so its rows work
unchanged and get the same rewards:

- `schema_str` is the JSON Schema as JSON text; `schema_type` the answer's format: `json` (the
  default), `yaml`, `toml` or `csv` (`xml` is not supported: it needs a third-party parser).
- `response_mode: text` (the default): the answer is the concatenated `output_text` of every
  assistant message, parsed as `schema_type` as is (a Markdown code fence makes it unparsable).
  `response_mode: tool_call`: the answer is the arguments of the episode's one function call
  (named `tool_name`, if the row gives one), unwrapped from `tool_payload_key` if the row gives one.
- The schema is made strict first: every object schema with `properties` gets all of them
  required and `additionalProperties: false` (object schemas inside lists such as `anyOf` are
  left as written, as NeMo Gym leaves them). Validation is JSON Schema 2020-12; `format` is not asserted.
- The reward is 1.0 if the answer validates and 0.0 otherwise; `error_type` and `error_message`
  say why not (`empty_response`, `schema_error`, `parse_error`, `validation_error`, `api_error`,
  `missing_tool_call`, `multiple_tool_calls`, `wrong_tool_name`, `tool_arguments_parse_error`,
  `missing_tool_payload_key`, `value_mismatch`).
- Unlike NeMo Gym, a row may give `expected_record`, the record its document was written from (an
  extraction task): then a valid answer must also hold the same values (`gymhall.envs.
  structured_outputs.record`), or it scores 0.0 with `value_mismatch`. Without it, any valid record
  scores 1.0: right only where the prompt asks for any valid record.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from gymhall import BaseVerifyRequest, Environment
from gymhall.envs.structured_outputs.record import first_mismatch

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = [
    "Grade",
    "SchemaType",
    "StructuredOutputs",
    "StructuredOutputsVerifyRequest",
    "grade_object",
    "grade_text",
    "strictify",
]

_MESSAGE_CHARS = 200  # error messages are diagnostics in every verify line: keep them short


class SchemaType(StrEnum):
    """The formats an answer may be asked in."""

    JSON = "json"
    YAML = "yaml"
    TOML = "toml"
    CSV = "csv"


class StructuredOutputsVerifyRequest(BaseVerifyRequest):
    """A row of the dataset (NeMo Gym's field names) plus the episode's response."""

    schema_str: str
    schema_type: SchemaType = SchemaType.JSON
    response_mode: str | None = "text"  # "tool_call": the answer is a function call's arguments
    tool_name: str | None = None
    tool_payload_key: str | None = None
    # gymhall's: the record an extraction row's document was written from; None grades the schema alone.
    expected_record: Any = None


@dataclass(frozen=True)
class Grade:
    """The reward of one answer and, when it is 0.0, the kind of failure and a short message."""

    reward: float
    error_type: str | None = None
    error_message: str | None = None

    @classmethod
    def failed(cls, error_type: str, message: str) -> Grade:
        return cls(0.0, error_type, message[:_MESSAGE_CHARS])


def strictify(schema: Any) -> None:
    """Make every object schema with `properties` require all of them and forbid others, in place.

    Like NeMo Gym, this descends through mappings only: schemas inside lists (`anyOf`, `allOf`,
    `prefixItems`, ...) are left as written.
    """
    if not isinstance(schema, dict):
        return
    if "properties" in schema:
        schema["required"] = list(schema["properties"])
        schema["additionalProperties"] = False
    for value in schema.values():
        strictify(value)


@dataclass(frozen=True)
class _Compiled:
    schema: Any = None
    validator: Draft202012Validator | None = None
    schema_error: str | None = None  # schema_str is not JSON
    invalid_schema: str | None = None  # JSON, but not a valid JSON Schema (graded as a validation error)


@functools.lru_cache(maxsize=1024)
def _compile(schema_str: str) -> _Compiled:
    # Datasets reuse a few schemas across many rows: check and build each one once.
    from jsonschema import Draft202012Validator, SchemaError

    try:
        schema = json.loads(schema_str)
    except ValueError as exc:
        return _Compiled(schema_error=str(exc))
    strictify(schema)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return _Compiled(schema, invalid_schema=f"SchemaError: {exc.message}")
    return _Compiled(schema, Draft202012Validator(schema))


def _parse(schema_type: SchemaType, text: str) -> Any:
    if schema_type is SchemaType.JSON:
        return json.loads(text)
    if schema_type is SchemaType.YAML:
        import yaml

        return yaml.safe_load(text)
    if schema_type is SchemaType.TOML:
        return tomllib.loads(text)
    return list(csv.DictReader(io.StringIO(text)))


def _coerce_csv_value(value: Any, kind: Any) -> Any:
    """A CSV cell as the schema's type says (csv reads every cell as text); unconvertible cells stay text."""
    if isinstance(kind, list):
        if value in (None, "") and "null" in kind:
            return None
        for option in kind:
            if option == "null":
                continue
            converted = _coerce_csv_value(value, option)
            if option == "string" or not isinstance(converted, str):
                return converted
        return value
    if not isinstance(value, str) or value == "":
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean":
        truth = {"true": True, "1": True, "false": False, "0": False}
        return truth.get(value.lower(), value)
    return value


def _coerce_csv(rows: list[dict[Any, Any]], schema: Any) -> list[dict[Any, Any]]:
    """The rows with each cell converted to its column's type in the schema's `items` (or the schema).

    Raises TypeError when the schema has no usable column types (graded as a validation error).
    """
    items = schema.get("items", schema) if isinstance(schema, dict) else None
    properties = items.get("properties", {}) if isinstance(items, dict) else None
    if not isinstance(properties, dict) or not all(isinstance(p, dict) for p in properties.values()):
        raise TypeError("the schema gives no object schema for the CSV rows' columns")
    return [
        {key: _coerce_csv_value(value, properties.get(key, {}).get("type", "string")) for key, value in row.items()}
        for row in rows
    ]


def _validate(compiled: _Compiled, instance: Any, expected: Any = None) -> Grade:
    from jsonschema.exceptions import best_match
    from referencing.exceptions import Unresolvable

    if compiled.invalid_schema is not None:
        return Grade.failed("validation_error", compiled.invalid_schema)
    assert compiled.validator is not None
    try:
        error = best_match(compiled.validator.iter_errors(instance))
    except (Unresolvable, TypeError, RecursionError) as exc:  # a $ref to nowhere; a CSV row with a None key
        return Grade.failed("validation_error", f"{type(exc).__name__}: {exc}")
    if error is not None:
        return Grade.failed("validation_error", f"ValidationError at {error.json_path}: {error.message}")
    if expected is not None:
        mismatch = first_mismatch(expected, instance, compiled.schema)
        if mismatch is not None:
            return Grade.failed("value_mismatch", mismatch)
    return Grade(1.0)


def grade_text(schema_type: SchemaType, schema_str: str, text: str, expected: Any = None) -> Grade:
    """Grade a text answer: parse it as `schema_type`, validate it against the strict schema and, given
    the `expected` record, compare their values."""
    import yaml

    if not text.strip():
        return Grade.failed("empty_response", "No assistant response text")
    compiled = _compile(schema_str)
    if compiled.schema_error is not None:
        return Grade.failed("schema_error", compiled.schema_error)
    try:
        parsed = _parse(schema_type, text)
    except (ValueError, RecursionError, yaml.YAMLError, csv.Error) as exc:
        return Grade.failed("parse_error", f"{type(exc).__name__}: {exc}")
    if schema_type is SchemaType.CSV:
        try:
            parsed = _coerce_csv(parsed, compiled.schema)
        except TypeError as exc:
            return Grade.failed("validation_error", f"{type(exc).__name__}: {exc}")
    return _validate(compiled, parsed, expected)


def grade_object(schema_str: str, value: Any, expected: Any = None) -> Grade:
    """Grade an already-parsed answer (a tool call's arguments) against the strict schema and, given the
    `expected` record, its values."""
    compiled = _compile(schema_str)
    if compiled.schema_error is not None:
        return Grade.failed("schema_error", compiled.schema_error)
    return _validate(compiled, value, expected)


def _answer_text(output: Iterable[Any]) -> str:
    return "".join(
        part.text for item in output if item.type == "message" for part in item.content if part.type == "output_text"
    )


def _tool_call_payload(body: StructuredOutputsVerifyRequest) -> Any | Grade:
    """The payload of the episode's one function call, or the `Grade` of why there is none."""
    if body.response.error is not None:
        return Grade.failed("api_error", str(body.response.error))
    output: list[Any] = list(body.response.output)  # typed loosely: items are a union of many models
    calls = [item for item in output if item.type == "function_call"]
    if not calls:
        return Grade.failed("missing_tool_call", "No function_call item found in assistant response")
    names = ", ".join(call.name for call in calls)
    if len(calls) > 1:
        return Grade.failed("multiple_tool_calls", f"Expected exactly one function_call, got: {names}")
    (call,) = calls
    if body.tool_name and call.name != body.tool_name:
        return Grade.failed("wrong_tool_name", f"Expected tool '{body.tool_name}', got: {names}")
    try:
        arguments = json.loads(call.arguments)
    except (ValueError, RecursionError) as exc:
        return Grade.failed("tool_arguments_parse_error", f"{type(exc).__name__}: {exc}")
    if body.tool_payload_key:
        if not isinstance(arguments, dict) or body.tool_payload_key not in arguments:
            return Grade.failed("missing_tool_payload_key", f"Missing tool payload key: {body.tool_payload_key}")
        return arguments[body.tool_payload_key]
    return arguments


def _grade(body: StructuredOutputsVerifyRequest) -> Grade:
    if body.response_mode == "tool_call":
        payload = _tool_call_payload(body)
        if isinstance(payload, Grade):
            return payload
        return grade_object(body.schema_str, payload, body.expected_record)
    return grade_text(body.schema_type, body.schema_str, _answer_text(body.response.output), body.expected_record)


class StructuredOutputs(Environment):
    """Answer in the row's format, valid for the row's JSON Schema and, for extraction rows that give an
    `expected_record`, holding its values."""

    domain = "instruction_following"

    async def verify(self, state: None, body: StructuredOutputsVerifyRequest) -> Mapping[str, Any]:
        """1.0 if the answer parses, validates against the strict schema and holds the expected record's
        values (where the row gives one), else 0.0 with the reason."""
        # Parsing and validating a long answer is CPU work: keep it off the event loop.
        grade = await asyncio.to_thread(_grade, body)
        return {
            "reward": grade.reward,
            "schema_type": body.schema_type.value,
            "error_type": grade.error_type,
            "error_message": grade.error_message,
        }


if __name__ == "__main__":
    StructuredOutputs.run_webserver()
