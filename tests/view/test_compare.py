"""Two runs task by task: worse first, then better, then tasks of one run only, then unchanged."""

from __future__ import annotations

from pathlib import Path

import orjson

from gymhall.view.compare import compare_runs
from gymhall.view.index import RolloutIndex


def index_of(path: Path, rewards: dict[int, list[float]]) -> RolloutIndex:
    lines = [
        {"_ng_task_index": t, "_ng_rollout_index": r, "reward": reward, "status": "ok"}
        for t, values in rewards.items()
        for r, reward in enumerate(values)
    ]
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    index = RolloutIndex(path)
    index.refresh()
    return index


def test_order_and_counts(tmp_path: Path) -> None:
    before = index_of(tmp_path / "a.jsonl", {0: [1, 1], 1: [0, 0], 2: [1, 0], 3: [1, 1], 4: [0.5]})
    after = index_of(tmp_path / "b.jsonl", {0: [0, 1], 1: [1, 1], 2: [0, 0], 3: [1, 1], 5: [1]})
    body = compare_runs(before, after)
    assert [(row["task"], row["delta"]) for row in body["rows"]] == [
        (0, -0.5),
        (2, -0.5),
        (1, 1.0),
        (4, None),
        (5, None),
        (3, 0.0),
    ]
    assert body["counts"] == {"worse": 2, "better": 1, "same": 1, "unpaired": 2}
    pairs = body["rows"][0]["pairs"]
    assert [(p["rollout"], p["before"]["reward"], p["after"]["reward"]) for p in pairs] == [(0, 1, 0), (1, 1, 1)]
    only_before = next(row for row in body["rows"] if row["task"] == 4)
    assert only_before["pairs"] == [{"rollout": 0, "before": only_before["pairs"][0]["before"], "after": None}]


def test_paging(tmp_path: Path) -> None:
    before = index_of(tmp_path / "a.jsonl", {t: [1.0] for t in range(5)})
    after = index_of(tmp_path / "b.jsonl", {t: [0.0] for t in range(5)})
    body = compare_runs(before, after, offset=3, limit=10)
    assert body["total"] == 5 and [row["task"] for row in body["rows"]] == [3, 4]
