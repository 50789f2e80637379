"""`gymhall check`: each conformance check passes a sound environment and catches the fault it names."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from gymhall import BaseSeedSessionRequest, BaseVerifyRequest, Environment, build_app, tool
from gymhall.checks.conformance import CheckResult, check_environment, corruptions, strict_schema_problems
from gymhall.testing import client_for
from gymhall.wire.contract import SESSION_HEADER


class Row(BaseSeedSessionRequest):
    start: int = 0


@dataclass
class Tally:
    value: int


def rows(count: int = 4) -> list[dict[str, Any]]:
    return [
        {
            "responses_create_params": {"input": "Add two to the tally, then say the total."},
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
        # The last number said is the answer: bold, padding or a closing sentence do not change it.
        numbers = re.findall(r"-?\d+", body.response.output_text)
        return float(bool(numbers) and numbers[-1] == str(state.value))


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


class WithLooseTool(Sound):
    @tool
    async def label(self, state: Tally, counts: dict[str, int]) -> dict[str, int]:
        """Label the tally: a free-form object argument, which strict mode cannot take."""
        return counts


class Fronted:
    """A server in front of a sound environment that answers some requests itself (a server without one contract).

    `answer(method, path, handle, history)` gives (status, JSON body) to answer instead of the environment, or None.
    """

    def __init__(self, env: Environment, answer: Callable[[str, str, str | None, list[tuple[str, str | None]]], Any]):
        self.app = build_app(env)
        self.answer = answer
        self.history: list[tuple[str, str | None]] = []

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        handle = headers.get(SESSION_HEADER.lower())
        answered = self.answer(scope["method"], scope["path"], handle, self.history)
        self.history.append((scope["path"], handle))
        if answered is None:
            await self.app(scope, receive, send)
            return
        status, body = answered
        more = True
        while more:  # read the request before answering, as a server does
            more = (await receive()).get("more_body", False)
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": orjson.dumps(body)})


def _forged_accepted(method: str, path: str, handle: str | None, history: list[Any]) -> Any:
    return (200, {"value": 0}) if handle is not None and handle.startswith("no-such-session") else None


def _second_close_refused(method: str, path: str, handle: str | None, history: list[Any]) -> Any:
    return (404, {"detail": "unknown session"}) if path == "/close_session" and (path, handle) in history else None


def _closed_session_served(method: str, path: str, handle: str | None, history: list[Any]) -> Any:
    return (200, {"value": 0}) if path == "/add" and ("/close_session", handle) in history else None


async def check(env: Environment | Fronted, data: list[dict[str, Any]] | None = None) -> dict[str, CheckResult]:
    async with client_for(env) as client:
        results = await check_environment(client, rows() if data is None else data)
    return {result.name: result for result in results}


async def test_a_sound_environment_passes_every_check() -> None:
    results = await check(Sound())
    assert len(results) == 10
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


def _only_failure(results: dict[str, CheckResult]) -> CheckResult:
    failed = [r for r in results.values() if not r.passed]
    assert len(failed) == 1, [f"{r.name}: {r.reason}" for r in failed]
    assert failed[0].reason and failed[0].fix
    return failed[0]


async def test_a_tool_schema_strict_mode_cannot_take_fails_only_the_schema_check() -> None:
    failed = _only_failure(await check(WithLooseTool()))
    assert failed.name == "tool schemas are strict"
    assert "label: parameters.counts: objects need additionalProperties: false" in failed.reason
    assert "@tool" in failed.fix


async def test_a_server_that_serves_forged_sessions_fails_only_the_unknown_session_check() -> None:
    failed = _only_failure(await check(Fronted(Sound(), _forged_accepted)))
    assert failed.name == "unknown sessions are rejected"
    assert failed.reason == "POST /add with a forged session handle answered 200"
    assert "4xx" in failed.fix


async def test_a_server_that_refuses_a_second_close_fails_only_the_close_check() -> None:
    failed = _only_failure(await check(Fronted(Sound(), _second_close_refused)))
    assert failed.name == "close is idempotent"
    assert failed.reason == "closing twice answered [200, 404]"
    assert "200" in failed.fix


async def test_a_server_that_serves_a_closed_session_fails_only_the_close_check() -> None:
    failed = _only_failure(await check(Fronted(Sound(), _closed_session_served)))
    assert failed.name == "close is idempotent"
    assert failed.reason == "a tool call on a closed session answered 200"
    assert "refuse closed sessions" in failed.fix


async def test_the_close_check_tries_a_later_row_s_tool_when_row_0_has_none() -> None:
    data = rows(3)
    data[0]["reference_solution"] = {"tool_calls": [], "answer": "0"}
    data[0]["start"] = 0
    failed = (await check(Fronted(Sound(), _closed_session_served), data))["close is idempotent"]
    assert not failed.passed and "closed session answered 200" in failed.reason


class DriftsOnTheFifthSeed(Sound):
    """Gives another start on row 0's fifth seed: the replay of the determinism check, and only it, sees it.

    (Row 0 is seeded for 1 reference play, 3 corrupted plays, then the determinism replay.)
    """

    seeds: dict[int, int] = {}

    async def seed_session(self, row: Row) -> Tally:
        count = self.seeds[row.start] = self.seeds.get(row.start, 0) + 1
        return Tally(row.start + 100 if count == 5 and row.start == 0 else row.start)


async def test_an_episode_that_changes_on_replay_fails_only_the_determinism_check() -> None:
    DriftsOnTheFifthSeed.seeds = {}
    failed = _only_failure(await check(DriftsOnTheFifthSeed()))
    assert failed.name == "same seed, same episode"
    assert failed.reason == "row 0 played twice gave different rewards (1 then 0)"
    assert "random.Random" in failed.fix


async def test_shared_state_that_only_concurrency_shows_fails_only_the_isolation_checks() -> None:
    KeyedByRow.tallies = {}
    results = await check(KeyedByRow())
    # Forks of one row share the row's tally too: the fork check sees the same fault.
    assert {r.name for r in results.values() if not r.passed} == {"sessions are isolated", "forks are isolated"}
    failed = results["sessions are isolated"]
    assert "two live sessions of one row gave different" in failed.reason
    assert "session's state" in failed.fix


class KeyedByRow(Sound):
    """Keeps each row's tally in a dict on the class, keyed by the row: two live sessions of one row share it."""

    tallies: dict[int, int] = {}

    async def seed_session(self, row: Row) -> Tally:
        self.tallies[row.start] = row.start
        return Tally(row.start)

    @tool
    async def add(self, state: Tally, by: int) -> dict[str, int]:
        """Add `by` to the tally."""
        self.tallies[state.value] += by
        return {"value": self.tallies[state.value]}

    async def verify(self, state: Tally, body: BaseVerifyRequest) -> float:
        numbers = re.findall(r"-?\d+", body.response.output_text)
        return float(bool(numbers) and numbers[-1] == str(self.tallies[state.value]))


class ForkSharesState(Sound):
    """Its fork hands back the parent's own state object: forks and parent move one tally."""

    async def fork(self, state: Tally) -> Tally:
        return state


class CannotFork(Sound):
    async def fork(self, state: Tally) -> Tally:
        from gymhall.exceptions import ForkUnsupported

        raise ForkUnsupported("no forks here")


async def test_a_fork_that_shares_the_parent_s_state_fails_only_the_fork_check() -> None:
    failed = _only_failure(await check(ForkSharesState()))
    assert failed.name == "forks are isolated"
    assert failed.reason == "row 0: the second fork, played after the others, gave rewards (1 then 0)"
    assert "Environment.fork" in failed.fix


async def test_an_environment_that_does_not_fork_passes_the_fork_check_saying_so() -> None:
    results = await check(CannotFork())
    assert all(r.passed for r in results.values())
    assert "does not fork sessions (501)" in results["forks are isolated"].reason


# Promises found by the mutation run (bench/README.md, "Mutation testing").


async def test_two_live_sessions_whose_tool_outputs_differ_fail_isolation_even_with_equal_rewards() -> None:
    # SharedTally's rewards stay 1.0 (each session's own tally is right); only its tool output leaks the other.
    SharedTally.shared = 0
    results = await check(SharedTally())
    isolation = results["sessions are isolated"]
    assert isolation.passed is False
    assert isolation.reason.startswith("two live sessions of one row gave different tool output #0")
    assert results["same seed, same episode"].passed is False
