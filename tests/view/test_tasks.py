"""The task table's filters and sorts, on an index of lines built by `gymhall.wire.lines`."""

from __future__ import annotations

from pathlib import Path

import orjson

from gymhall.view.index import RolloutIndex
from gymhall.view.tasks import TaskQuery, task_key, task_rows, task_table
from gymhall.wire.lines import RolloutFailure, failed_line, ok_line


def table(tmp_path: Path, **query: object) -> list[object]:
    row = lambda t, r: {"_ng_task_index": t, "_ng_rollout_index": r, "responses_create_params": {"input": f"task {t}"}}  # noqa: E731
    ok = lambda t, r, reward: ok_line(row(t, r), {**row(t, r), "reward": reward}, {})  # noqa: E731  (verify echoes the row)
    lines = [ok(0, 0, 0.0), ok(0, 1, 0.0), ok(1, 0, 0.0), ok(1, 1, 0.5)]
    lines += [failed_line(row(2, 0), RolloutFailure("tool", "boom", False), {}), ok(2, 1, 1.0)]
    lines += [failed_line(row(3, 0), RolloutFailure("seed", "down", True), {})]
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    index = RolloutIndex(path)
    index.refresh()
    answer = task_table(task_rows(index), TaskQuery(**query))  # type: ignore[arg-type]
    return [row["task"] for row in answer["rows"]]


def test_reward_zero_means_every_ok_rollout_scored_zero(tmp_path: Path) -> None:
    assert table(tmp_path, zero_only=True) == [0]


def test_failed_only_and_the_search_of_failure_messages(tmp_path: Path) -> None:
    assert table(tmp_path, failed_only=True) == [2, 3]
    assert table(tmp_path, text="BOOM") == [2]
    assert table(tmp_path, text="task 1") == [1]


def test_sorting_by_reward_puts_unscored_tasks_last_both_ways(tmp_path: Path) -> None:
    assert table(tmp_path, sort="reward") == [0, 1, 2, 3]
    assert table(tmp_path, sort="reward", descending=True) == [2, 1, 0, 3]
    assert table(tmp_path, sort="failed", descending=True)[:2] == [3, 2]


def test_task_keys_of_mixed_types_sort() -> None:
    assert sorted([3, "line 2", 1, "a"], key=task_key) == [1, 3, "a", "line 2"]
