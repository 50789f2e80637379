"""Rollout lines: what every dataset row ends as, exactly once.

A line is either `status: "ok"` with the verify response (and so a `reward`), or `status: "failed"`
with a typed `failure` and no reward: an infrastructure failure is never scored 0. Lines carry
NeMo Gym's `_ng_task_index` / `_ng_rollout_index`, which make each (task, repeat) a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "ROLLOUT_KEY",
    "TASK_KEY",
    "FailureStage",
    "RolloutFailure",
    "failed_line",
    "line_key",
    "ok_line",
]

TASK_KEY = "_ng_task_index"
ROLLOUT_KEY = "_ng_rollout_index"

FailureStage = Literal["seed", "model", "tool", "verify", "judge", "agent"]


@dataclass(frozen=True)
class RolloutFailure:
    """Why a rollout has no reward: the stage that failed, the error, and whether a retry may help."""

    stage: FailureStage
    error: str
    retryable: bool
    attempts: int = 1

    def to_json(self) -> dict[str, Any]:
        """The `failure` object of a failed line."""
        return asdict(self)


def line_key(line: Mapping[str, Any]) -> tuple[int, int]:
    """The (task, rollout) key of a row or a line."""
    return int(line.get(TASK_KEY, 0)), int(line.get(ROLLOUT_KEY, 0))


def ok_line(row: Mapping[str, Any], verify_response: Mapping[str, Any], timings: Mapping[str, float]) -> dict[str, Any]:
    """The line of a rollout that was verified."""
    task, rollout = line_key(row)
    return {**verify_response, TASK_KEY: task, ROLLOUT_KEY: rollout, "status": "ok", "timings": dict(timings)}


def failed_line(
    row: Mapping[str, Any], failure: RolloutFailure, timings: Mapping[str, float], response: Any = None
) -> dict[str, Any]:
    """The line of a rollout that failed: the row, the failure, the partial response if any, and no reward."""
    line = {key: value for key, value in row.items() if key != "reward"}
    if response is not None:
        line["response"] = response
    task, rollout = line_key(row)
    line.update({TASK_KEY: task, ROLLOUT_KEY: rollout, "status": "failed", "failure": failure.to_json()})
    line["timings"] = dict(timings)
    return line
