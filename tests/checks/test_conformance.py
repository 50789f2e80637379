"""`gymhall check`: each conformance check passes a sound environment and catches the fault it names."""

from dataclasses import dataclass
from typing import Any

import pytest

from gymhall import BaseSeedSessionRequest, BaseVerifyRequest, Environment, tool
from gymhall.checks.conformance import CheckResult, check_environment, corruptions, strict_schema_problems
from gymhall.testing import client_for


class Row(BaseSeedSessionRequest):
    start: int = 0


@dataclass
class Tally:
    value: int


def rows(count: int = 4) -> list[dict[str, Any]]:
    return [
        {
            "responses_create_params": {"input": f"Add 2 to {i}, then say the total."},
            "start": i,
            "reference_solution": {"tool_calls": [{"name": "add", "arguments": {"by": 2}}], "answer": str(i + 2)},
        }
        for i in range(count)
    ]


class Sound(Environment):
    async def seed_session(self, row: Row) -> Tally:
        return Tally(row.start)

    @tool
    async def add(self, state: Tally, by: int) -> dict[str, int]:
        """Add `by` to the tally."""
        state.value += by
        return {"value": state.value}

    async def verify(self, state: Tally, body: BaseVerifyRequest) -> float:
        return float(body.response.output_text.strip() == str(state.value))


class SharedTally(Sound):
    """Keeps the tally on the server object: sessions see each other's additions."""

    shared = 0

    @tool
    async def add(self, state: Tally, by: int) -> dict[str, int]:
        """Add `by` to the tally."""
        type(self).shared += by
        state.value += by
        return {"value": state.value, "total_added": type(self).shared}


class Lenient(Sound):
    async def verify(self, state: Tally, body: BaseVerifyRequest) -> float:
        return 1.0


class VerifyMutates(Sound):
    async def verify(self, state: Tally, body: BaseVerifyRequest) -> float:
        state.value += 1  # a side effect: the second verify sees another state
        return float(body.response.output_text.strip() == str(state.value - 1))


async def check(env: Environment, data: list[dict[str, Any]] | None = None) -> dict[str, CheckResult]:
    async with client_for(env) as client:
        results = await check_environment(client, rows() if data is None else data)
    return {result.name: result for result in results}


async def test_a_sound_environment_passes_every_check() -> None:
    results = await check(Sound())
    assert len(results) == 8
    failed = [r for r in results.values() if not r.passed]
    assert failed == []
    assert "403" in results["unknown sessions are rejected"].reason
    assert "404" in results["close is idempotent"].reason


async def test_state_shared_between_sessions_fails_isolation_and_determinism() -> None:
    SharedTally.shared = 0
    results = await check(SharedTally())
    assert results["reference solutions score 1.0"].passed
    isolation = results["sessions are isolated"]
    assert not isolation.passed
    assert "tool output #0" in isolation.reason
    assert "session's state" in isolation.fix
    assert not results["same seed, same episode"].passed


async def test_a_verify_that_rewards_anything_fails_the_corruption_check() -> None:
    results = await check(Lenient())
    corrupted = results["corrupted solutions score below 1.0"]
    assert not corrupted.passed
    assert "rows 0, 1, 2, 3" in corrupted.reason
    assert results["reference solutions score 1.0"].passed


async def test_a_verify_with_side_effects_fails_the_repeat_check() -> None:
    results = await check(VerifyMutates())
    repeat = results["verify is repeatable"]
    assert not repeat.passed
    assert "[1.0, 0.0, 0.0]" in repeat.reason


async def test_wrong_reference_solutions_are_named() -> None:
    data = rows(3)
    data[1]["reference_solution"]["answer"] = "41"
    result = (await check(Sound(), data))["reference solutions score 1.0"]
    assert not result.passed
    assert result.reason.startswith("1 of 3 scored below 1.0 (row 1: 0)")


async def test_rows_without_solutions_fail_with_the_fix() -> None:
    data = [{key: value for key, value in row.items() if key != "reference_solution"} for row in rows(2)]
    (only,) = (await check(Sound(), data)).values()
    assert not only.passed
    assert "reference_solution" in only.fix


def test_corruptions_of_a_solution() -> None:
    solution = {"tool_calls": [{"name": "add", "arguments": {"by": 2}}], "answer": "12"}
    found = dict(corruptions(solution))
    assert found["answer reversed"]["answer"] == "21"
    assert found["answer emptied"]["answer"] == ""
    assert found["tool calls dropped"]["tool_calls"] == []
    assert dict(corruptions({"tool_calls": [], "answer": "aba"}))["answer reversed"]["answer"] == "aba (no)"
    assert corruptions({"tool_calls": [], "answer": ""}) == []


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, "additionalProperties"),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": [], "additionalProperties": False},
            "missing: a",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "array", "items": {"type": "object", "properties": {}}}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "parameters.a[]: objects need additionalProperties",
        ),
        ({"oneOf": [{"type": "string"}]}, "oneOf"),
        (
            {"type": "object", "properties": {}, "required": ["title"], "additionalProperties": False},
            "required names undeclared properties (title)",
        ),
    ],
)
def test_strict_schema_problems(schema: dict[str, Any], problem: str) -> None:
    problems = strict_schema_problems(schema)
    assert any(problem in p for p in problems), problems


def test_a_strict_schema_has_no_problems() -> None:
    schema = {
        "type": "object",
        "properties": {"by": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["by", "tags"],
        "additionalProperties": False,
    }
    assert strict_schema_problems(schema) == []
