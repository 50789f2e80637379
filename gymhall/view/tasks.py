"""The task table: one row per task with its repeats, sorted and filtered on the server, sent a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gymhall.view.index import RolloutEntry, RolloutIndex, TaskEntry

__all__ = ["SORT_KEYS", "TaskQuery", "mean_reward", "repeat_cell", "task_key", "task_rows", "task_table"]

SortKey = Literal["task", "reward", "failed", "repeats"]
SORT_KEYS: tuple[str, ...] = ("task", "reward", "failed", "repeats")


@dataclass(frozen=True)
class TaskQuery:
    """What the table shows: the sort, the filters (failed only, reward 0 only, text) and the page."""

    sort: str = "task"
    descending: bool = False
    failed_only: bool = False
    zero_only: bool = False
    text: str = ""
    offset: int = 0
    limit: int = 100


def task_key(task: Any) -> tuple[int, Any]:
    """A sort key for task indices of mixed types: numbers first, by value; then the rest, as text."""
    if isinstance(task, int | float) and not isinstance(task, bool):
        return 0, task
    return 1, str(task)


def mean_reward(rollouts: Sequence[RolloutEntry]) -> float | None:
    """The mean reward of the ok rollouts that have one, or None."""
    rewards = [r.reward for r in rollouts if r.ok and r.reward is not None]
    return sum(rewards) / len(rewards) if rewards else None


def repeat_cell(entry: RolloutEntry) -> dict[str, Any]:
    """One repeat as the table shows it: its id (to open it), its rollout index, reward or failure stage."""
    return {"id": entry.id, "rollout": entry.rollout, "ok": entry.ok, "reward": entry.reward, "stage": entry.stage}


def _row(task: TaskEntry, entries: Sequence[RolloutEntry]) -> dict[str, Any]:
    rollouts = sorted((entries[i] for i in task.rollout_ids), key=lambda e: task_key(e.rollout))
    failed = sum(1 for r in rollouts if not r.ok)
    return {
        "task": task.task,
        "prompt": task.prompt,
        "repeats": len(rollouts),
        "failed": failed,
        "mean_reward": mean_reward(rollouts),
        "rollouts": [repeat_cell(r) for r in rollouts],
        "messages": sorted({r.message for r in rollouts if r.message}),
    }


def _matches(row: dict[str, Any], query: TaskQuery, needle: str) -> bool:
    if query.failed_only and not row["failed"]:
        return False
    if query.zero_only and row["mean_reward"] != 0.0:
        return False
    if needle:
        haystack = " ".join([str(row["task"]), row["prompt"], *row["messages"]]).lower()
        return needle in haystack
    return True


def task_rows(index: RolloutIndex) -> tuple[int, list[dict[str, Any]]]:
    """Every task's row, and the index version they are of: computed once per version, then filtered per query."""
    entries, tasks, version = index.snapshot()
    return version, [_row(task, entries) for task in tasks]


def task_table(rows_of_version: tuple[int, list[dict[str, Any]]], query: TaskQuery) -> dict[str, Any]:
    """The rows (of `task_rows`) that match `query`, sorted, from `offset`, at most `limit`; and how many matched.

    "reward 0 only" keeps the tasks whose ok rollouts all scored 0 (a mean of 0); "failed only" those
    with a failed rollout; the text matches the task index, the prompt or a failure message.
    """
    version, all_rows = rows_of_version
    needle = query.text.strip().lower()
    rows = [row for row in all_rows if _matches(row, query, needle)]
    if query.sort == "reward":
        # Tasks with no reward (every rollout failed) sort below the lowest reward either way.
        scored = sorted((r for r in rows if r["mean_reward"] is not None), key=lambda r: r["mean_reward"])
        unscored = [r for r in rows if r["mean_reward"] is None]
        rows = (scored[::-1] if query.descending else scored) + unscored
    else:
        field = {"task": None, "failed": "failed", "repeats": "repeats"}.get(query.sort)
        rows.sort(key=lambda r: (r[field], task_key(r["task"])) if field else task_key(r["task"]))
        if query.descending:
            rows.reverse()
    page = [
        {k: v for k, v in row.items() if k != "messages"} for row in rows[query.offset : query.offset + query.limit]
    ]
    return {"version": version, "total": len(rows), "tasks_total": len(all_rows), "offset": query.offset, "rows": page}
