"""Rollout lines: what every dataset row ends as, exactly once.

A line is either `status: "ok"` with the verify response (and so a `reward`), or `status: "failed"`
with a typed `failure` and no reward: an infrastructure failure is never scored 0. Lines carry
NeMo Gym's `_ng_task_index` / `_ng_rollout_index`, which make each (task, repeat) a key, and NeMo Gym
0.7's outcome fields: `mask_sample` (false on ok lines, true on failed ones), `failure_kind` and
`failure_reason` (null on ok lines, the typed failure's kind and error on failed ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from gymhall.wire.contract import FAILURE_CLASS_KEY, JUDGE_ERROR_KEY, judge_failure

__all__ = [
    "FAILURE_KIND_KEY",
    "OUTCOME_KEYS",
    "FAILURE_REASON_KEY",
    "MASK_SAMPLE_KEY",
    "ROLLOUT_KEY",
    "TASK_KEY",
    "FailureStage",
    "RolloutFailure",
    "failed_line",
    "failure_kind",
    "line_key",
    "ok_line",
    "reported_failure",
]

TASK_KEY = "_ng_task_index"
ROLLOUT_KEY = "_ng_rollout_index"

MASK_SAMPLE_KEY = "mask_sample"
"""NeMo Gym 0.7: true when a sample's reward is not a valid measurement (it is left out of quality metrics)."""

FAILURE_KIND_KEY = "failure_kind"
"""NeMo Gym 0.7: a registered failure name (`judge_failed`, ...) or `<server>:<kind>`; null when none."""

FAILURE_REASON_KEY = "failure_reason"
"""NeMo Gym 0.7: the failure's message, at most 2000 characters; null when none."""

_MAX_REASON = 2000

OUTCOME_KEYS = (MASK_SAMPLE_KEY, FAILURE_KIND_KEY, FAILURE_REASON_KEY, FAILURE_CLASS_KEY, JUDGE_ERROR_KEY)
"""The keys by which a verify answer says it is a failure, not a reward (0.7's and 0.4's)."""

FailureStage = Literal["seed", "model", "tool", "verify", "judge", "agent"]
_STAGES: frozenset[str] = frozenset(get_args(FailureStage))
# NeMo Gym 0.7's registered failure kinds where one fits the stage; `gymhall:<stage>_failed` elsewhere.
_KINDS = {"judge": "judge_failed", "verify": "verifier_error", "agent": "agent_run_error"}
_STAGE_OF_KIND = {kind: stage for stage, kind in _KINDS.items()}


@dataclass(frozen=True)
class RolloutFailure:
    """Why a rollout has no reward: the stage that failed, the error, and whether a retry may help."""

    stage: FailureStage
    error: str
    retryable: bool
    attempts: int = 1
    kind: str | None = None  # the failure kind a server reported; else `failure_kind(stage)`

    def to_json(self) -> dict[str, Any]:
        """The `failure` object of a failed line (`kind` only where a server reported one)."""
        data = asdict(self)
        if self.kind is None:
            del data["kind"]
        return data


def failure_kind(stage: str) -> str:
    """NeMo Gym 0.7's `failure_kind` of a failure at `stage`: a registered name, else `gymhall:<stage>_failed`."""
    return _KINDS.get(stage, f"gymhall:{stage}_failed")


def _stage_of(kind: str) -> FailureStage:
    stage = _STAGE_OF_KIND.get(kind) or kind.removeprefix("gymhall:").removesuffix("_failed")
    return stage if stage in _STAGES else "verify"  # type: ignore[return-value]


def reported_failure(answer: Mapping[str, Any]) -> RolloutFailure | None:
    """The failure a verify or `/run` answer reports, else None (the answer is a reward).

    Read in the shapes NeMo Gym writes: 0.7's `mask_sample` with `failure_kind`/`failure_reason`, and
    0.4's `_ng_failure_class` (a judge failure is retryable; another is when `_ng_failure_terminal` is false).
    """
    judge_error = judge_failure(answer)
    if judge_error is not None:
        return RolloutFailure("judge", judge_error, True, kind="judge_failed")
    if answer.get(MASK_SAMPLE_KEY) is True:
        kind = str(answer.get(FAILURE_KIND_KEY) or failure_kind("verify"))
        reason = str(answer.get(FAILURE_REASON_KEY) or "the reward is not a valid measurement (mask_sample)")
        return RolloutFailure(_stage_of(kind), reason, False, kind=kind)
    failure_class = answer.get(FAILURE_CLASS_KEY)
    if failure_class is not None:
        message = answer.get("_ng_failure_message") or f"the answer reports {FAILURE_CLASS_KEY}={failure_class!r}"
        retryable = answer.get("_ng_failure_terminal") is False
        return RolloutFailure(_stage_of(str(failure_class)), str(message), retryable, kind=str(failure_class))
    return None


def line_key(line: Mapping[str, Any]) -> tuple[int, int]:
    """The (task, rollout) key of a row or a line."""
    return int(line.get(TASK_KEY, 0)), int(line.get(ROLLOUT_KEY, 0))


def ok_line(row: Mapping[str, Any], verify_response: Mapping[str, Any], timings: Mapping[str, float]) -> dict[str, Any]:
    """The line of a rollout that was verified."""
    task, rollout = line_key(row)
    outcome = {MASK_SAMPLE_KEY: False, FAILURE_KIND_KEY: None, FAILURE_REASON_KEY: None}
    return {
        **outcome,
        **verify_response,
        TASK_KEY: task,
        ROLLOUT_KEY: rollout,
        "status": "ok",
        "timings": dict(timings),
    }


def failed_line(
    row: Mapping[str, Any], failure: RolloutFailure, timings: Mapping[str, float], response: Any = None
) -> dict[str, Any]:
    """The line of a rollout that failed: the row, the failure, the partial response if any, and no reward."""
    line = {key: value for key, value in row.items() if key != "reward"}
    if response is not None:
        line["response"] = response
    task, rollout = line_key(row)
    line.update({TASK_KEY: task, ROLLOUT_KEY: rollout, "status": "failed", "failure": failure.to_json()})
    line[MASK_SAMPLE_KEY] = True
    line[FAILURE_KIND_KEY] = failure.kind or failure_kind(failure.stage)
    line[FAILURE_REASON_KEY] = failure.error[:_MAX_REASON]
    line["timings"] = dict(timings)
    return line
