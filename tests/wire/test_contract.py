"""`gymhall.wire.contract`: the rules both ends of the wire share."""

from __future__ import annotations

import pytest

from gymhall.wire.contract import (
    RESERVED_ROUTES,
    TOOL_NAME,
    failure_class,
    judge_failed,
    judge_failure,
    retryable_status,
    session_cookie_name,
)


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [
        (429, None, True),
        (503, {"detail": "busy"}, True),
        (408, None, True),
        (500, {"error": "boom"}, True),  # a crashed worker may come back
        (500, None, True),
        (500, {"error": "internal_error", "detail": "ZeroDivisionError"}, False),  # the environment's own bug
        (400, None, False),
        (404, None, False),
        (422, {"error": "validation_error"}, False),
        (501, None, False),
    ],
)
def test_retryable_status(status: int, body: object, retryable: bool) -> None:
    assert retryable_status(status, body) is retryable


def test_a_judge_failure_round_trips_and_is_never_a_reward_alone() -> None:
    fields = judge_failed("judge timed out")
    assert fields["_ng_failure_class"] == "judge_failed" and fields["reward"] == 0.0
    assert judge_failure({"reward": 0.0, **fields}) == "judge timed out"
    assert judge_failure({"reward": 0.0}) is None
    assert judge_failure({"reward": 1.0, "_ng_failure_class": "verify_failed"}) is None
    assert failure_class("seed") == "seed_failed"


def test_session_cookie_names_are_cookie_safe() -> None:
    assert session_cookie_name("weather") == "gymhall-session-weather"
    assert session_cookie_name("my env;x=1") == "gymhall-session-my_env_x_1"
    assert session_cookie_name("") == "gymhall-session-server"


def test_tool_names() -> None:
    assert TOOL_NAME.fullmatch("get_weather-2")
    assert not TOOL_NAME.fullmatch("../verify")
    assert not TOOL_NAME.fullmatch("x" * 65)
    assert {"seed_session", "verify", "close_session", "aggregate_metrics", "fork_session"} == RESERVED_ROUTES
