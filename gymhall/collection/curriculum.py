"""Rows by difficulty: `gymhall collect --difficulty`'s filter, and a curriculum that samples from recent rewards.

A row names its tier in a top-level `difficulty` field (`easy`, `medium`, `hard`, or any label a
dataset uses). Filtering keeps each row's task index from its place in the file, so a run over the
hard rows and a later run over the easy ones of the same file never share a `_ng_task_index`, and
`--resume` lines them up.

`Curriculum` is for trainers that pick their next batch: it samples tiers in proportion to how much
a tier can still teach, `p (1 - p)` of its recent mean reward `p` (a group that all pass or all fail
gives GRPO-style advantages of zero), with a floor so that no tier is starved and a tier with no
rewards yet is sampled as if `p = 0.5`.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from gymhall.exceptions import DatasetError
from gymhall.wire.lines import TASK_KEY

__all__ = ["DIFFICULTY_KEY", "Curriculum", "filter_by_difficulty"]

DIFFICULTY_KEY = "difficulty"


def _tier(row: Mapping[str, Any]) -> str | None:
    value = row.get(DIFFICULTY_KEY)
    return value if isinstance(value, str) else None


def filter_by_difficulty(rows: Sequence[Mapping[str, Any]], levels: Collection[str]) -> list[dict[str, Any]]:
    """The rows whose `difficulty` is one of `levels`, each keeping its task index from its place in `rows`.

    Raises `DatasetError` naming the tiers the rows have when a level matches none of them.
    """
    present = sorted({tier for row in rows if (tier := _tier(row)) is not None})
    unknown = sorted(set(levels) - set(present))
    if unknown:
        have = ", ".join(present) if present else f"none: no row has a {DIFFICULTY_KEY!r} field"
        raise DatasetError(
            f"--difficulty {','.join(unknown)}: no row has that difficulty (the rows have {have}).\n"
            f"  Fix: choose from the tiers the rows name, or add a {DIFFICULTY_KEY!r} field to the rows."
        )
    return [{**row, TASK_KEY: row.get(TASK_KEY, position)} for position, row in enumerate(rows) if _tier(row) in levels]


class Curriculum:
    """Samples rows by difficulty from the rewards of recent rollouts.

        curriculum = Curriculum(read_rows("data/math.jsonl"))
        batch = curriculum.sample(64)
        lines = [line async for line in rollouts(batch, ...)]
        curriculum.record(lines)

    `window`: how many recent rewards per tier count. `floor`: the least weight a tier gets, so a
    tier that looks solved or hopeless is still revisited. `seed` makes the sampling reproducible.
    """

    def __init__(
        self, rows: Iterable[Mapping[str, Any]], *, window: int = 256, floor: float = 0.05, seed: int | None = None
    ) -> None:
        if window < 1 or not 0 < floor <= 0.25:
            raise ValueError("A curriculum needs window >= 1 and 0 < floor <= 0.25 (0.25 is p(1 - p) at p = 0.5).")
        self._tiers: dict[str, list[dict[str, Any]]] = {}
        for position, row in enumerate(rows):
            tier = _tier(row)
            if tier is None:
                raise DatasetError(
                    f"row {position} has no {DIFFICULTY_KEY!r} field.\n  Fix: give every row a difficulty tier."
                )
            self._tiers.setdefault(tier, []).append({**row, TASK_KEY: row.get(TASK_KEY, position)})
        if not self._tiers:
            raise DatasetError("A curriculum needs at least one row.")
        self._recent: dict[str, deque[float]] = {tier: deque(maxlen=window) for tier in self._tiers}
        self._floor = floor
        self._random = random.Random(seed)

    @property
    def tiers(self) -> list[str]:
        """The tiers the rows name, in the order they first appear."""
        return list(self._tiers)

    def mean_reward(self, tier: str) -> float | None:
        """The mean of the tier's recent rewards, or None before any."""
        recent = self._recent[tier]
        return sum(recent) / len(recent) if recent else None

    def weights(self) -> dict[str, float]:
        """Each tier's sampling weight (they sum to 1): `max(p (1 - p), floor)`, `p` its recent mean reward."""
        raw = {}
        for tier in self._tiers:
            mean = self.mean_reward(tier)
            p = 0.5 if mean is None else mean
            raw[tier] = max(p * (1 - p), self._floor)
        total = sum(raw.values())
        return {tier: weight / total for tier, weight in raw.items()}

    def sample(self, count: int) -> list[dict[str, Any]]:
        """`count` rows: a tier drawn by `weights()` for each, then a row of it uniformly."""
        weights = self.weights()
        tiers = self._random.choices(list(weights), weights=list(weights.values()), k=count)
        return [self._random.choice(self._tiers[tier]) for tier in tiers]

    def record(self, lines: Iterable[Mapping[str, Any]]) -> None:
        """Count the rewards of finished rollout lines (each echoes its row's `difficulty`).

        A failed line (no reward, or `status` other than "ok") says nothing about difficulty and is skipped.
        """
        for line in lines:
            tier, reward = _tier(line), line.get("reward")
            if tier not in self._recent or line.get("status", "ok") != "ok" or not isinstance(reward, int | float):
                continue
            self._recent[tier].append(float(reward))
