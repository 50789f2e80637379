"""The answer to NeMo Gym's `POST /aggregate_metrics`, computed: the server's route and the agent's share it.

Every numeric top-level field of a verify response (booleans count as 0/1), every `reward_components`
entry (as `reward_components/<name>`) and every numeric `response.usage` field, summarized per task
(`_ng_task_index`) and overall as `mean/<field>`, `min/`, `max/`, `median/`, `std/`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from gymhall.wire.lines import ROLLOUT_KEY, TASK_KEY

__all__ = ["aggregate_metrics", "numeric_fields", "summarize"]

_SKIP = frozenset({TASK_KEY, ROLLOUT_KEY, "_ng_attempt_index", "id"})  # indices and ids are not metrics


def numeric_fields(row: Mapping[str, Any]) -> dict[str, float]:
    """The numeric top-level fields of a verify response, its `reward_components`, plus its token usage.

    Each reward component becomes `reward_components/<name>`, so multi-reward environments get a
    per-component mean without repeating every component as a top-level field.
    """
    values: dict[str, float] = {}
    for key, value in row.items():
        if key in _SKIP:
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


def summarize(rows: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """`mean/min/max/median/std` of every numeric field over `rows` (std is the population std)."""
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in numeric_fields(row).items():
            columns.setdefault(key, []).append(value)
    summary: dict[str, float] = {}
    for key, values in sorted(columns.items()):
        summary[f"mean/{key}"] = statistics.fmean(values)
        summary[f"min/{key}"] = min(values)
        summary[f"max/{key}"] = max(values)
        summary[f"median/{key}"] = statistics.median(values)
        summary[f"std/{key}"] = statistics.pstdev(values) if len(values) > 1 else 0.0
    return summary


def aggregate_metrics(verify_responses: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-task and overall metrics: `{"agent_metrics", "key_metrics", "group_level_metrics"}`."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for position, row in enumerate(verify_responses):
        groups.setdefault(row.get(TASK_KEY, position), []).append(row)
    group_level = [{TASK_KEY: task, "num_rollouts": len(rows), **summarize(rows)} for task, rows in groups.items()]
    agent_metrics = summarize(verify_responses)
    key_metrics = {k: v for k, v in agent_metrics.items() if k.startswith("mean/")}
    return {"agent_metrics": agent_metrics, "key_metrics": key_metrics, "group_level_metrics": group_level}
