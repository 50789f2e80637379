"""Two runs, task by task: each task's mean reward before and after, the tasks that got worse first."""

from __future__ import annotations

from typing import Any

from gymhall.view.index import RolloutIndex
from gymhall.view.tasks import mean_reward, repeat_cell, task_key

__all__ = ["compare_runs"]


def compare_runs(
    before: RolloutIndex, after: RolloutIndex, *, text: str = "", offset: int = 0, limit: int = 100
) -> dict[str, Any]:
    """Per task of either run: mean reward before and after, their difference, the repeats of each side.

    Sorted by the change, most negative first (the regressions a reader looks for), then the tasks
    present in one run only, then unchanged ones by task. Repeats are paired by `_ng_rollout_index`
    so that the page can put one rollout of each run side by side.
    """
    entries_a, tasks_a, _ = before.snapshot()
    entries_b, tasks_b, _ = after.snapshot()
    by_task_a = {t.task: [entries_a[i] for i in t.rollout_ids] for t in tasks_a}
    by_task_b = {t.task: [entries_b[i] for i in t.rollout_ids] for t in tasks_b}
    prompts = {t.task: t.prompt for t in tasks_b} | {t.task: t.prompt for t in tasks_a}
    needle = text.strip().lower()
    rows = []
    for task in sorted(by_task_a.keys() | by_task_b.keys(), key=task_key):
        if needle and needle not in f"{task} {prompts[task]}".lower():
            continue
        side_a, side_b = by_task_a.get(task, []), by_task_b.get(task, [])
        mean_a, mean_b = mean_reward(side_a), mean_reward(side_b)
        delta = mean_b - mean_a if mean_a is not None and mean_b is not None else None
        cells_a = {e.rollout: repeat_cell(e) for e in side_a}
        cells_b = {e.rollout: repeat_cell(e) for e in side_b}
        pairs = [
            {"rollout": r, "before": cells_a.get(r), "after": cells_b.get(r)}
            for r in sorted(cells_a.keys() | cells_b.keys(), key=task_key)
        ]
        rows.append(
            {"task": task, "prompt": prompts[task], "before": mean_a, "after": mean_b, "delta": delta, "pairs": pairs}
        )
    counts = {
        "worse": sum(1 for r in rows if r["delta"] is not None and r["delta"] < 0),
        "better": sum(1 for r in rows if r["delta"] is not None and r["delta"] > 0),
        "same": sum(1 for r in rows if r["delta"] == 0),
        "unpaired": sum(1 for r in rows if r["delta"] is None),
    }
    changed = sorted((r for r in rows if r["delta"]), key=lambda r: (r["delta"], task_key(r["task"])))
    unpaired = [r for r in rows if r["delta"] is None]
    same = [r for r in rows if r["delta"] == 0]
    ordered = changed + unpaired + same
    return {
        "before": str(before.path),
        "after": str(after.path),
        "counts": counts,
        "total": len(ordered),
        "offset": offset,
        "rows": ordered[offset : offset + limit],
    }
