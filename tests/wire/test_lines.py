"""Rollout lines: ok and failed, with NeMo Gym 0.7's outcome fields beside gymhall's typed failure."""

from __future__ import annotations

import pytest

from gymhall.wire.contract import judge_failed
from gymhall.wire.lines import RolloutFailure, failed_line, failure_kind, ok_line, reported_failure

ROW = {"responses_create_params": {"input": "hi"}, "_ng_task_index": 2, "_ng_rollout_index": 1, "reward": 0.5}


def test_ok_lines_carry_the_07_outcome_fields_unset() -> None:
    line = ok_line(ROW, {**ROW, "reward": 1.0}, {"total_s": 0.1})
    assert line["status"] == "ok" and line["reward"] == 1.0
    assert (line["mask_sample"], line["failure_kind"], line["failure_reason"]) == (False, None, None)


def test_failed_lines_carry_the_07_outcome_fields_and_keep_the_typed_failure() -> None:
    line = failed_line(ROW, RolloutFailure("model", "the model answered HTTP 401", False), {})
    assert line["status"] == "failed" and "reward" not in line
    assert line["failure"] == {
        "stage": "model",
        "error": "the model answered HTTP 401",
        "retryable": False,
        "attempts": 1,
    }
    assert line["mask_sample"] is True
    assert line["failure_kind"] == "gymhall:model_failed" and line["failure_reason"] == "the model answered HTTP 401"


@pytest.mark.parametrize(
    ("stage", "kind"),
    [
        ("judge", "judge_failed"),
        ("verify", "verifier_error"),
        ("agent", "agent_run_error"),
        ("seed", "gymhall:seed_failed"),
    ],
)
def test_failure_kinds_are_nemo_gyms_registered_names_where_one_fits(stage: str, kind: str) -> None:
    assert failure_kind(stage) == kind


def test_a_reported_kind_wins_and_long_reasons_are_cut_to_2000() -> None:
    failure = RolloutFailure("verify", "x" * 5000, False, kind="counter:bad_state")
    line = failed_line(ROW, failure, {})
    assert line["failure_kind"] == "counter:bad_state" and len(line["failure_reason"]) == 2000
    assert line["failure"]["kind"] == "counter:bad_state"


def test_reported_failures_are_read_in_07_and_04_shapes() -> None:
    assert reported_failure({"reward": 1.0, "mask_sample": False, "failure_kind": None}) is None
    masked = reported_failure(
        {"reward": 0.0, "mask_sample": True, "failure_kind": "verifier_error", "failure_reason": "db gone"}
    )
    assert masked == RolloutFailure("verify", "db gone", False, kind="verifier_error")
    judge = reported_failure({"reward": 0.0, "_ng_failure_class": "judge_failed", "_ng_failure_judge_error": "503"})
    assert judge == RolloutFailure("judge", "503", True, kind="judge_failed")
    both = reported_failure(judge_failed("the judge timed out"))  # gymhall writes 0.7's fields beside 0.4's
    assert both == RolloutFailure("judge", "the judge timed out", True, kind="judge_failed")
    agent = reported_failure({"_ng_failure_class": "agent_run_error", "_ng_failure_message": "boom"})
    assert agent == RolloutFailure("agent", "boom", False, kind="agent_run_error")
