import itertools
import json
import logging
import random
from pathlib import Path
from typing import Any

import pytest

from gymhall import DatasetError
from gymhall.collection.metrics import pass_at_k, read_rollouts, rollout_metrics
from gymhall.wire.aggregation import coverage

# Three tasks of four rollouts, all measured.
FULL_COVERAGE = coverage(12, 0, 3, 3)


def _brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """The share of all k-subsets of n samples (the first c correct) that hold a correct sample."""
    subsets = list(itertools.combinations(range(n), k))
    return sum(1 for subset in subsets if any(i < c for i in subset)) / len(subsets)


def test_pass_at_k_matches_brute_force_enumeration() -> None:
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(_brute_force_pass_at_k(n, c, k)), (n, c, k)


def test_pass_at_k_hand_values_and_edges() -> None:
    assert pass_at_k(4, 2, 2) == pytest.approx(5 / 6)  # 1 - C(2,2)/C(4,2) = 1 - 1/6
    assert pass_at_k(5, 1, 1) == pytest.approx(0.2)
    assert pass_at_k(4, 0, 4) == 0.0
    assert pass_at_k(4, 2, 3) == 1.0  # n - c = 2 < k: every 3-subset holds a correct sample
    # Large n stays finite and exact enough without huge binomials: 1 - C(9990,10)/C(10000,10).
    assert pass_at_k(10_000, 10, 10) == pytest.approx(0.00995, abs=1e-4)
    for bad in [(4, 5, 1), (4, -1, 1), (4, 2, 0), (4, 2, 5)]:
        with pytest.raises(ValueError):
            pass_at_k(*bad)


def _line(task: int, rollout: int, reward: float, answer: Any = None, **extra: Any) -> dict[str, Any]:
    line = {"_ng_task_index": task, "_ng_rollout_index": rollout, "status": "ok", "reward": reward, **extra}
    if answer is not None:
        line["extracted_answer"] = answer
    return line


def _three_tasks_four_repeats() -> list[dict[str, Any]]:
    lines = [
        # task 0: rewards 1 0 0 1 (c = 2); answers "4" (right) and "5" (wrong), two votes each.
        _line(0, 0, 1.0, "4"),
        _line(0, 1, 0.0, "5"),
        _line(0, 2, 0.0, "5"),
        _line(0, 3, 1.0, "4"),
        # task 1: rewards 0 0 1 0 (c = 1); the majority "7" is wrong.
        _line(1, 0, 0.0, "7"),
        _line(1, 1, 0.0, "7"),
        _line(1, 2, 1.0, "6"),
        _line(1, 3, 0.0, "7"),
        # task 2: rewards 1 1 1 0 (c = 3); the last rollout gave no answer.
        _line(2, 0, 1.0, "x"),
        _line(2, 1, 1.0, "x"),
        _line(2, 2, 1.0, "x"),
        _line(2, 3, 0.0),
    ]
    # Lines arrive in completion order; the metrics must not depend on it.
    random.Random(7).shuffle(lines)
    return lines


def test_rollout_metrics_hand_computed_pass_and_majority() -> None:
    metrics = rollout_metrics(_three_tasks_four_repeats(), answer_key="extracted_answer")
    # pass@1 = mean of c/n: (2/4 + 1/4 + 3/4) / 3 = 1.5 / 3 = 0.5
    # pass@2: task 0: 1 - C(2,2)/C(4,2) = 5/6; task 1: 1 - C(3,2)/C(4,2) = 1 - 3/6 = 1/2;
    #         task 2: n - c = 1 < 2, so 1.  (5/6 + 3/6 + 6/6) / 3 = (14/6) / 3 = 7/9
    # pass@3: task 0: n - c = 2 < 3 -> 1; task 1: 1 - C(3,3)/C(4,3) = 3/4; task 2: 1.  (1 + 3/4 + 1) / 3 = 11/12
    # pass@4: every task has a success among its 4: 1
    assert metrics["pass@k"] == pytest.approx({"pass@1": 0.5, "pass@2": 7 / 9, "pass@3": 11 / 12, "pass@4": 1.0})
    # majority@1: first answers "4" (right), "7" (wrong), "x" (right): 2/3
    # majority@2: task 0 "4" vs "5" tie -> (1 + 0) / 2; task 1 "7" -> 0; task 2 "x" -> 1: (0.5 + 0 + 1) / 3 = 0.5
    # majority@3: task 0 "5" wins 2-1 -> 0; task 1 "7" -> 0; task 2 "x" -> 1: 1/3
    # majority@4: task 0 "4" vs "5" tie 2-2 -> 0.5; task 1 "7" 3-1 -> 0; task 2 "x" 3 (None does not vote) -> 1
    #             (0.5 + 0 + 1) / 3 = 0.5
    assert metrics["majority@k"] == pytest.approx(
        {"majority@1": 2 / 3, "majority@2": 0.5, "majority@3": 1 / 3, "majority@4": 0.5}
    )
    assert metrics["num_tasks@k"] == {"1": 3, "2": 3, "3": 3, "4": 3}
    assert metrics["overall"]["mean/reward"] == 0.5  # 6 successes / 12
    assert "mean/extracted_answer" not in metrics["overall"]
    assert metrics["counts"] == {
        "lines": 12,
        "ok": 12,
        "failed": 0,
        "failed_by_stage": {},
        "tasks": 3,
        "no_answer": 1,
    }
    assert metrics["key_metrics"] == pytest.approx(
        {"mean/reward": 0.5, "pass@1": 0.5, "pass@4": 1.0, "majority@4": 0.5, "failure_rate": 0.0, **FULL_COVERAGE}
    )
    per_task = metrics["per_task"]
    assert [t["_ng_task_index"] for t in per_task] == [0, 1, 2]
    assert [t["num_successes"] for t in per_task] == [2, 1, 3]
    assert [t["mean/reward"] for t in per_task] == [0.5, 0.25, 0.75]
    assert all(t["num_rollouts"] == 4 and t["num_failed"] == 0 for t in per_task)


def test_rollout_metrics_without_answer_key_has_no_majority() -> None:
    metrics = rollout_metrics(_three_tasks_four_repeats())
    assert "majority@k" not in metrics and "no_answer" not in metrics["counts"]
    assert set(metrics["key_metrics"]) == {"mean/reward", "pass@1", "pass@4", "failure_rate", *FULL_COVERAGE}


def test_success_threshold_binarizes_continuous_rewards() -> None:
    lines = [_line(0, 0, 0.4), _line(0, 1, 0.8), _line(1, 0, 0.6), _line(1, 1, 0.2)]
    assert rollout_metrics(lines, success_threshold=0.5)["pass@k"] == pytest.approx({"pass@1": 0.5, "pass@2": 1.0})
    assert rollout_metrics(lines)["pass@k"] == {"pass@1": 0.0, "pass@2": 0.0}  # nothing reaches 1.0


def test_failed_rows_are_counted_per_stage_but_not_scored() -> None:
    def failed(task: int, rollout: int, stage: str) -> dict[str, Any]:
        failure = {"stage": stage, "error": "boom", "attempts": 3, "retryable": True}
        # A failed line keeps the row's fields and may carry a partial response with usage.
        return {
            "_ng_task_index": task,
            "_ng_rollout_index": rollout,
            "status": "failed",
            "failure": failure,
            "response": {"usage": {"output_tokens": 999}},
        }

    lines = [
        _line(0, 0, 1.0, response={"usage": {"output_tokens": 10}}),
        failed(0, 1, "model"),
        _line(0, 2, 0.0, response={"usage": {"output_tokens": 20}}),
        _line(1, 0, 0.0),
        failed(1, 1, "model"),
        failed(1, 2, "verify"),
        {"_ng_task_index": 2, "_ng_rollout_index": 0, "status": "failed"},  # no failure object
    ]
    metrics = rollout_metrics(lines)
    assert metrics["counts"] == {
        "lines": 7,
        "ok": 3,
        "failed": 4,
        "failed_by_stage": {"model": 2, "unknown": 1, "verify": 1},
        "tasks": 3,
    }
    # Reward and usage statistics see only the 3 ok lines: rewards 1, 0, 0; output tokens 10, 20.
    assert metrics["overall"]["mean/reward"] == pytest.approx(1 / 3)
    assert metrics["overall"]["max/output_tokens"] == 20.0
    assert "mean/attempts" not in metrics["overall"]
    # Task 0 has 2 ok rollouts (c = 1), task 1 has 1 (c = 0), task 2 none:
    # pass@1 = (1/2 + 0) / 2 = 1/4; pass@2 only over task 0 = 1 - C(1,2)/C(2,2) = 1 (n - c = 1 < 2).
    assert metrics["pass@k"] == pytest.approx({"pass@1": 0.25, "pass@2": 1.0})
    assert metrics["num_tasks@k"] == {"1": 2, "2": 1}
    assert metrics["key_metrics"]["failure_rate"] == pytest.approx(4 / 7)
    # The headline mean covers 3 of 7 rollouts, and 2 of 3 tasks: the key metrics say so beside it.
    assert metrics["key_metrics"]["coverage"] == pytest.approx(3 / 7)
    assert metrics["key_metrics"]["coverage/masked_rollouts"] == 4
    assert metrics["key_metrics"]["coverage/fully_masked_tasks"] == 1
    per_task = {t["_ng_task_index"]: t for t in metrics["per_task"]}
    assert (per_task[0]["num_rollouts"], per_task[0]["num_failed"]) == (3, 1)
    assert (per_task[1]["num_rollouts"], per_task[1]["num_failed"]) == (3, 2)
    assert (per_task[2]["num_rollouts"], per_task[2]["num_failed"]) == (1, 1)
    assert "mean/reward" not in per_task[2]


def test_rollout_metrics_of_nothing() -> None:
    metrics = rollout_metrics([])
    assert metrics["counts"]["lines"] == 0 and metrics["pass@k"] == {} and metrics["per_task"] == []
    assert metrics["key_metrics"] == {"failure_rate": 0.0, **coverage(0, 0, 0, 0)}


def test_lines_without_status_count_as_ok() -> None:
    # NeMo Gym's rollouts file holds only successful rollouts and has no status field.
    metrics = rollout_metrics([{"_ng_task_index": 0, "_ng_rollout_index": 0, "reward": 1.0}])
    assert metrics["counts"]["ok"] == 1 and metrics["pass@k"] == {"pass@1": 1.0}


def _majority_at(votes: list[tuple[Any, float]], k: int) -> float:
    lines = [_line(0, i, reward, answer) for i, (answer, reward) in enumerate(votes)]
    return float(rollout_metrics(lines, answer_key="extracted_answer")["majority@k"][f"majority@{k}"])


def test_majority_ties_average_the_tied_answers() -> None:
    # Three answers tied 1-1-1, one right: 1/3.
    assert _majority_at([("a", 1.0), ("b", 0.0), ("c", 0.0)], 3) == pytest.approx(1 / 3)
    # Two right answers tied with one wrong one: 2/3.
    assert _majority_at([("a", 1.0), ("b", 1.0), ("c", 0.0)], 3) == pytest.approx(2 / 3)
    # A clear majority is not a tie: "b" wins 2-1.
    assert _majority_at([("a", 1.0), ("b", 0.0), ("b", 0.0)], 3) == 0.0


def test_majority_answer_correctness_uses_the_best_reward_of_its_rollouts() -> None:
    # "a" got rewards 0.0 and 1.0 (e.g. a flaky judge): its best reward reaches the threshold, so it is right.
    assert _majority_at([("a", 0.0), ("a", 1.0), ("b", 0.0)], 3) == 1.0


def test_majority_with_no_answers_scores_zero_and_structured_answers_vote() -> None:
    assert _majority_at([(None, 1.0), (None, 1.0)], 2) == 0.0
    # JSON objects vote by content, whatever their key order.
    assert _majority_at([({"x": 1, "y": 2}, 1.0), ({"y": 2, "x": 1}, 1.0), ([1], 0.0)], 3) == 1.0


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_rollouts_skips_a_torn_last_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = [json.dumps(_line(0, i, 1.0)) for i in range(2)]
    path = _write(tmp_path / "out.jsonl", "\n".join(good) + '\n\n{"_ng_task_index": 0, "rew')
    with caplog.at_level(logging.WARNING, logger="gymhall.metrics"):
        lines = list(read_rollouts(path))
    assert [line["_ng_rollout_index"] for line in lines] == [0, 1]
    assert "torn last line" in caplog.text
    # A file that ends cleanly, with blank lines, reads whole and quietly.
    assert len(list(read_rollouts(_write(tmp_path / "clean.jsonl", "\n".join(good) + "\n\n")))) == 2


def test_read_rollouts_names_a_torn_middle_line(tmp_path: Path) -> None:
    text = json.dumps(_line(0, 0, 1.0)) + '\n{"_ng_task_index": 0, "rew\n' + json.dumps(_line(0, 1, 1.0)) + "\n"
    path = _write(tmp_path / "out.jsonl", text)
    with pytest.raises(DatasetError, match=r"out\.jsonl:2: not valid JSON"):
        list(read_rollouts(path))


def test_read_rollouts_rejects_non_objects_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"bad\.jsonl:1: .*JSON object"):
        list(read_rollouts(_write(tmp_path / "bad.jsonl", "[1, 2]\n")))
    with pytest.raises(DatasetError, match="does not exist"):
        list(read_rollouts(tmp_path / "missing.jsonl"))


def test_rollout_metrics_of_a_file(tmp_path: Path) -> None:
    lines = _three_tasks_four_repeats()
    path = _write(tmp_path / "out.jsonl", "".join(json.dumps(line) + "\n" for line in lines) + '{"torn')
    metrics = rollout_metrics(read_rollouts(path), answer_key="extracted_answer")
    assert metrics["counts"]["lines"] == 12
    assert metrics["key_metrics"]["majority@4"] == pytest.approx(0.5)


def test_input_fields_are_left_out_of_every_statistic() -> None:
    lines = [
        {
            "_ng_task_index": 0,
            "_ng_rollout_index": 0,
            "status": "ok",
            "world_seed": 7,
            "reward": 1.0,
            "timed_out": False,
        },
        {
            "_ng_task_index": 0,
            "_ng_rollout_index": 1,
            "status": "ok",
            "world_seed": 7,
            "reward": 0.0,
            "timed_out": True,
        },
    ]
    metrics = rollout_metrics(lines, inputs={"world_seed"})
    assert metrics["overall"]["mean/reward"] == 0.5 and metrics["overall"]["mean/timed_out"] == 0.5
    assert not any("world_seed" in key for key in metrics["overall"])
    assert not any("world_seed" in key for key in metrics["per_task"][0])


def test_a_retried_rollout_counts_once_and_its_newer_line_wins() -> None:
    # A resumed run appends a retried rollout's new line after its failed one.
    failed = {"_ng_task_index": 0, "_ng_rollout_index": 1, "status": "failed", "failure": {"stage": "seed"}}
    lines = [_line(0, 0, 1.0), failed, _line(1, 0, 0.0), _line(0, 1, 0.0)]
    metrics = rollout_metrics(lines)
    assert metrics["counts"] == {"lines": 3, "ok": 3, "failed": 0, "failed_by_stage": {}, "tasks": 2}
    assert metrics["overall"]["mean/reward"] == pytest.approx(1 / 3)
    per_task = {t["_ng_task_index"]: t for t in metrics["per_task"]}
    assert (per_task[0]["num_rollouts"], per_task[0]["num_failed"]) == (2, 0)
    # The other way round, a later failure replaces an earlier ok line too: the newer line always wins.
    assert rollout_metrics([_line(0, 0, 1.0), {**failed, "_ng_rollout_index": 0}])["counts"]["failed"] == 1
