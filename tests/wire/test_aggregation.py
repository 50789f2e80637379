"""`gymhall.wire.aggregation`: the `/aggregate_metrics` answer."""

from __future__ import annotations

import pytest

from gymhall import aggregate_metrics
from gymhall.wire.aggregation import numeric_fields, summarize


def test_numeric_fields_include_bools_and_usage_and_skip_indices() -> None:
    row = {
        "reward": 1.0,
        "solved": True,
        "name": "x",
        "_ng_task_index": 3,
        "response": {"usage": {"input_tokens": 5, "output_tokens": 2}},
    }
    assert numeric_fields(row) == {"reward": 1.0, "solved": 1.0, "input_tokens": 5.0, "output_tokens": 2.0}


def test_reward_components_are_summarized_by_name_and_ids_are_not_metrics() -> None:
    row = {"id": 7, "reward": 0.5, "reward_components": {"format": 1.0, "length": 0.0, "note": "x"}}
    assert numeric_fields(row) == {"reward": 0.5, "reward_components/format": 1.0, "reward_components/length": 0.0}
    overall = aggregate_metrics([row, {**row, "reward_components": {"format": 0.0, "length": 0.0}}])["agent_metrics"]
    assert overall["mean/reward_components/format"] == 0.5


def test_summary_statistics() -> None:
    summary = summarize([{"reward": 0.0}, {"reward": 1.0}, {"reward": 1.0}, {"reward": 1.0}])
    assert summary["mean/reward"] == 0.75
    assert summary["min/reward"] == 0.0 and summary["max/reward"] == 1.0
    assert summary["median/reward"] == 1.0
    assert summary["std/reward"] == pytest.approx(0.4330127)


def test_aggregate_groups_by_task() -> None:
    rows = [
        {"reward": 1.0, "_ng_task_index": 0, "_ng_rollout_index": 0},
        {"reward": 0.0, "_ng_task_index": 0, "_ng_rollout_index": 1},
        {"reward": 1.0, "_ng_task_index": 1, "_ng_rollout_index": 0},
    ]
    result = aggregate_metrics(rows)
    assert result["agent_metrics"]["mean/reward"] == pytest.approx(2 / 3)
    assert result["key_metrics"] == {
        "mean/reward": pytest.approx(2 / 3),
        "coverage": 1.0,
        "coverage/measured_rollouts": 3,
        "coverage/masked_rollouts": 0,
        "coverage/measured_tasks": 2,
        "coverage/fully_masked_tasks": 0,
    }
    groups = {g["_ng_task_index"]: g for g in result["group_level_metrics"]}
    assert groups[0]["mean/reward"] == 0.5 and groups[0]["num_rollouts"] == 2
    assert groups[1]["mean/reward"] == 1.0


# --- pass@k, majority@k and rollouts files ---------------------------------------------------------


def test_the_rows_input_fields_are_not_metrics_but_reward_and_declared_fields_are() -> None:
    # A verify response echoes its row: `world_seed` is an input, `library_reward` is what verify returned.
    row = {"world_seed": 1234, "reward": 1.0, "library_reward": 0.5, "reward_components": {"format": 1.0}}
    inputs = {"world_seed", "responses_create_params", "reward"}  # a row's own `reward` never hides the score
    assert numeric_fields(row, inputs=inputs) == {"reward": 1.0, "library_reward": 0.5, "reward_components/format": 1.0}
    result = aggregate_metrics([row, {**row, "world_seed": 99, "reward": 0.0}], inputs=inputs)
    assert "mean/world_seed" not in result["agent_metrics"] and "mean/world_seed" not in result["key_metrics"]
    assert result["key_metrics"]["mean/reward"] == 0.5
    assert all("mean/world_seed" not in group for group in result["group_level_metrics"])
    # Without the inputs named, every numeric field counts, as NeMo Gym's default /aggregate_metrics does.
    assert aggregate_metrics([row])["key_metrics"]["mean/world_seed"] == 1234


def test_the_07_outcome_flag_on_every_line_is_not_a_metric() -> None:
    from gymhall.wire.aggregation import numeric_fields

    assert numeric_fields({"reward": 1.0, "mask_sample": False, "failure_kind": None}) == {"reward": 1.0}


def test_masked_and_failed_rows_are_left_out_of_the_mean_and_counted_as_coverage() -> None:
    rows = [
        {"reward": 1.0, "_ng_task_index": 0},
        {"reward": 0.0, "_ng_task_index": 0, "mask_sample": True},  # NeMo Gym 0.7: not to be scored
        {"_ng_task_index": 1, "status": "failed", "failure": {"stage": "judge"}},  # a gymhall failed line
        {"reward": 0.0, "_ng_task_index": 2, "mask_sample": False},
    ]
    result = aggregate_metrics(rows)
    assert result["key_metrics"] == {
        "mean/reward": 0.5,  # the two measured rows, not 1/4 nor 1/3
        "coverage": 0.5,
        "coverage/measured_rollouts": 2,
        "coverage/masked_rollouts": 2,
        "coverage/measured_tasks": 2,
        "coverage/fully_masked_tasks": 1,
    }
    groups = {group["_ng_task_index"]: group for group in result["group_level_metrics"]}
    assert groups[0]["mean/reward"] == 1.0 and groups[0]["missing_num_rollouts"] == 1
    assert "mean/reward" not in groups[1] and groups[1]["num_rollouts"] == 1
    assert "missing_num_rollouts" not in groups[2]
