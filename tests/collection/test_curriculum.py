"""gymhall.collection.curriculum: the --difficulty filter and sampling by recent rewards."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from gymhall import Curriculum, DatasetError
from gymhall.collection.curriculum import filter_by_difficulty


def rows(*tiers: str) -> list[dict[str, Any]]:
    return [{"responses_create_params": {"input": f"q{i}"}, "difficulty": tier} for i, tier in enumerate(tiers)]


def test_the_filter_keeps_each_row_s_task_index_from_its_place_in_the_file() -> None:
    kept = filter_by_difficulty(rows("easy", "hard", "medium", "hard"), {"hard"})
    assert [(row["_ng_task_index"], row["responses_create_params"]["input"]) for row in kept] == [(1, "q1"), (3, "q3")]
    both = filter_by_difficulty(rows("easy", "hard", "medium"), ["easy", "medium"])
    assert [row["_ng_task_index"] for row in both] == [0, 2]


def test_a_row_s_own_task_index_wins() -> None:
    (row,) = filter_by_difficulty([{**rows("hard")[0], "_ng_task_index": 40}], {"hard"})
    assert row["_ng_task_index"] == 40


def test_a_tier_no_row_has_is_an_error_naming_the_tiers_there_are() -> None:
    with pytest.raises(DatasetError, match=r"--difficulty extreme: .*the rows have easy, hard\)") as caught:
        filter_by_difficulty(rows("easy", "hard"), {"hard", "extreme"})
    assert "Fix:" in str(caught.value)
    with pytest.raises(DatasetError, match="no row has a 'difficulty' field"):
        filter_by_difficulty([{"responses_create_params": {"input": "x"}}], {"easy"})


def line(tier: str, reward: float | None, status: str = "ok") -> dict[str, Any]:
    return {"difficulty": tier, "status": status, **({} if reward is None else {"reward": reward})}


def test_weights_favour_the_tier_whose_rewards_are_closest_to_even() -> None:
    curriculum = Curriculum(rows("easy", "medium", "hard"), floor=0.01)
    assert curriculum.weights() == pytest.approx({"easy": 1 / 3, "medium": 1 / 3, "hard": 1 / 3})  # nothing known
    curriculum.record([line("easy", 1.0)] * 10 + [line("medium", 1.0), line("medium", 0.0)] + [line("hard", 0.0)] * 9)
    curriculum.record([line("hard", 1.0)])
    weights = curriculum.weights()
    # easy: p = 1 → the floor 0.01; medium: p = 0.5 → 0.25; hard: p = 0.1 → 0.09.
    assert weights["easy"] == pytest.approx(0.01 / 0.35)
    assert weights["medium"] == pytest.approx(0.25 / 0.35)
    assert weights["hard"] == pytest.approx(0.09 / 0.35)
    assert curriculum.mean_reward("hard") == pytest.approx(0.1)


def test_only_the_recent_window_counts_and_failed_lines_are_skipped() -> None:
    curriculum = Curriculum(rows("easy", "hard"), window=4)
    curriculum.record([line("easy", 0.0)] * 4 + [line("easy", 1.0)] * 4)
    assert curriculum.mean_reward("easy") == 1.0
    curriculum.record([line("hard", None, status="failed"), line("hard", 0.0, status="failed"), line("nope", 1.0)])
    assert curriculum.mean_reward("hard") is None


def test_sampling_follows_the_weights_and_is_reproducible_with_a_seed() -> None:
    data = rows(*(["easy"] * 5 + ["hard"] * 5))
    curriculum = Curriculum(data, seed=7, floor=0.01)
    curriculum.record([line("easy", 1.0)] * 50 + [line("hard", 1.0), line("hard", 0.0)] * 25)
    batch = curriculum.sample(2000)
    counts = Counter(row["difficulty"] for row in batch)
    assert counts["hard"] / 2000 == pytest.approx(0.25 / 0.26, abs=0.02)
    assert {row["_ng_task_index"] for row in batch if row["difficulty"] == "hard"} == {5, 6, 7, 8, 9}
    again = Curriculum(data, seed=7, floor=0.01)
    again.record([line("easy", 1.0)] * 50 + [line("hard", 1.0), line("hard", 0.0)] * 25)
    assert again.sample(2000) == batch


def test_rows_without_a_tier_and_bad_settings_are_refused() -> None:
    with pytest.raises(DatasetError, match="row 1 has no 'difficulty' field"):
        Curriculum([rows("easy")[0], {"responses_create_params": {"input": "x"}}])
    with pytest.raises(DatasetError, match="at least one row"):
        Curriculum([])
    with pytest.raises(ValueError, match="floor"):
        Curriculum(rows("easy"), floor=0.5)
