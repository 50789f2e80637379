"""gymhall.wire.deadline: the rollout's time left, sent by the agent, read by the server for its endpoints."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gymhall import Agent, BaseVerifyRequest, Environment, ReplayModel, tool
from gymhall.testing import client_for
from gymhall.wire.deadline import DEADLINE_HEADER, deadline_header_value, parse_deadline, rollout_deadline, time_left


def test_time_left_counts_down_inside_the_block_only() -> None:
    assert time_left() is None
    with rollout_deadline(time.monotonic() + 10):
        left = time_left()
        assert left is not None and 9 < left <= 10
        with rollout_deadline(time.monotonic() - 5):
            assert time_left() == 0.0  # passed: never negative
        assert time_left() == pytest.approx(left, abs=0.5)
    assert time_left() is None


@pytest.mark.parametrize("value", [None, b"", b"soon", b"nan", b"inf", b"-1", "1e999"])
def test_a_missing_or_unusable_header_is_no_deadline(value: Any) -> None:
    assert parse_deadline(value) is None


def test_the_header_carries_the_seconds_left_to_the_millisecond() -> None:
    deadline = time.monotonic() + 2.5
    sent = deadline_header_value(deadline)
    assert 2.49 <= float(sent) <= 2.5 and len(sent.partition(".")[2]) == 3
    received = parse_deadline(sent.encode())
    assert received is not None and abs(received - deadline) < 0.01
    assert deadline_header_value(time.monotonic() - 3) == "0.000"


class Clocked(Environment):
    """Reports, from each stage, how much of the rollout's budget its request said was left."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, float | None] = {}

    async def seed_session(self, row: Any) -> None:
        self.seen["seed"] = time_left()

    @tool
    async def look(self, state: None) -> str:
        """Look around."""
        self.seen["tool"] = time_left()
        return "nothing"

    async def verify(self, state: None, body: BaseVerifyRequest) -> float:
        self.seen["verify"] = time_left()
        return 1.0


ROW = {
    "responses_create_params": {"input": "Look, then say done."},
    "reference_solution": {"tool_calls": [{"name": "look", "arguments": {}}], "answer": "done"},
}


async def test_the_agent_sends_the_rollouts_time_left_on_seed_tools_and_verify() -> None:
    env = Clocked()
    async with client_for(env) as client:
        line = await Agent(client, ReplayModel(), timeout_s=30).run(ROW)
    assert line["status"] == "ok"
    assert set(env.seen) == {"seed", "tool", "verify"}
    for stage, left in env.seen.items():
        assert left is not None and 25 < left <= 30, (stage, left)
    # Later stages have less left (to the header's millisecond: each request restarts the count).
    assert env.seen["seed"] + 0.002 >= env.seen["tool"] and env.seen["tool"] + 0.002 >= env.seen["verify"]  # type: ignore[operator]


async def test_a_request_without_the_header_has_no_deadline_and_it_never_leaks_into_the_caller() -> None:
    env = Clocked()
    async with client_for(env) as client:
        session = await client.seed_session(ROW)
        await session.call("look")
        session.deadline = time.monotonic() + 7
        await session.call("look")
        assert time_left() is None  # the in-process server ran in this task: its deadline was reset
    assert env.seen["seed"] is None and 6 < (env.seen["tool"] or 0) <= 7
    assert DEADLINE_HEADER == "x-gymhall-deadline-s"
