"""The answer to NeMo Gym's `POST /aggregate_metrics`, computed: the server's route and the agent's share it.

What is a metric: `reward`; every `reward_components` entry (as `reward_components/<name>`); every other
numeric top-level field of a verify response (booleans count as 0/1) that verify itself returned, which is
how an environment declares a metric; and every numeric `response.usage` field. A verify response echoes
the dataset row, so its numeric task fields (a `world_seed`, an id) would look like metrics too: pass their
names as `inputs` and they are left out. Without `inputs` every numeric field counts, as in NeMo Gym's
default `/aggregate_metrics`. Each is summarized per task (`_ng_task_index`) and overall as
`mean/<field>`, `min/`, `max/`, `median/`, `std/`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from gymhall.wire.lines import MASK_SAMPLE_KEY, ROLLOUT_KEY, TASK_KEY

__all__ = ["aggregate_metrics", "numeric_fields", "summarize"]

# Indices, ids and NeMo Gym 0.7's outcome flag (on every line) are not metrics.
_SKIP = frozenset({TASK_KEY, ROLLOUT_KEY, "_ng_attempt_index", "id", MASK_SAMPLE_KEY})


def numeric_fields(row: Mapping[str, Any], *, inputs: Collection[str] = ()) -> dict[str, float]:
    """The numeric top-level fields of a verify response but its `inputs`, its `reward_components`, its token usage.

    `inputs` names the fields of the dataset row (echoed by verify, not metrics); `reward` is always a
    metric. Each reward component becomes `reward_components/<name>`, so multi-reward environments get
    a per-component mean without repeating every component as a top-level field.
    """
    values: dict[str, float] = {}
    for key, value in row.items():
        if key in _SKIP or (key in inputs and key != "reward"):
            continue
        if isinstance(value, bool):
            values[key] = float(value)
        elif isinstance(value, int | float) and math.isfinite(value):
            values[key] = float(value)
    components = row.get("reward_components")
    if isinstance(components, Mapping):
        for name, value in components.items():
            if isinstance(value, int | float) and math.isfinite(value):
                values[f"reward_components/{name}"] = float(value)
    response = row.get("response")
    usage = response.get("usage") if isinstance(response, Mapping) else None
    if isinstance(usage, Mapping):
        for key, value in usage.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.setdefault(key, float(value))
    return values


def summarize(rows: Iterable[Mapping[str, Any]], *, inputs: Collection[str] = ()) -> dict[str, float]:
    """`mean/min/max/median/std` of every metric (`numeric_fields`) over `rows` (std is the population std)."""
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in numeric_fields(row, inputs=inputs).items():
            columns.setdefault(key, []).append(value)
    summary: dict[str, float] = {}
    for key, values in sorted(columns.items()):
        summary[f"mean/{key}"] = statistics.fmean(values)
        summary[f"min/{key}"] = min(values)
        summary[f"max/{key}"] = max(values)
        summary[f"median/{key}"] = statistics.median(values)
        summary[f"std/{key}"] = statistics.pstdev(values) if len(values) > 1 else 0.0
    return summary


def aggregate_metrics(verify_responses: list[dict[str, Any]], *, inputs: Collection[str] = ()) -> dict[str, Any]:
    """Per-task and overall metrics: `{"agent_metrics", "key_metrics", "group_level_metrics"}`.

    `inputs`: the names of the dataset row's fields, which are not metrics (see the module's docstring).
    """
    groups: dict[Any, list[dict[str, Any]]] = {}
    for position, row in enumerate(verify_responses):
        groups.setdefault(row.get(TASK_KEY, position), []).append(row)
    group_level = [
        {TASK_KEY: task, "num_rollouts": len(rows), **summarize(rows, inputs=inputs)} for task, rows in groups.items()
    ]
    agent_metrics = summarize(verify_responses, inputs=inputs)
    key_metrics = {k: v for k, v in agent_metrics.items() if k.startswith("mean/")}
    return {"agent_metrics": agent_metrics, "key_metrics": key_metrics, "group_level_metrics": group_level}
