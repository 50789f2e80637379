"""Aggregate metrics over verify responses, in NeMo Gym's `/aggregate_metrics` shape.

Every numeric top-level field (booleans count as 0/1) and every numeric `response.usage` field is
summarized per task (`_ng_task_index`) and overall as `mean/<field>`, `min/`, `max/`, `median/`, `std/`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["aggregate_metrics", "numeric_fields", "summarize"]

_TASK_KEY = "_ng_task_index"
_ROLLOUT_KEY = "_ng_rollout_index"
_SKIP = frozenset({_TASK_KEY, _ROLLOUT_KEY, "_ng_attempt_index"})


def numeric_fields(row: Mapping[str, Any]) -> dict[str, float]:
    """The numeric top-level fields of a verify response, plus its token usage."""
    values: dict[str, float] = {}
    for key, value in row.items():
        if key in _SKIP:
            continue
        if isinstance(value, bool):
            values[key] = float(value)
        elif isinstance(value, int | float) and math.isfinite(value):
            values[key] = float(value)
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
        groups.setdefault(row.get(_TASK_KEY, position), []).append(row)
    group_level = [{_TASK_KEY: task, "num_rollouts": len(rows), **summarize(rows)} for task, rows in groups.items()]
    agent_metrics = summarize(verify_responses)
    key_metrics = {k: v for k, v in agent_metrics.items() if k.startswith("mean/")}
    return {"agent_metrics": agent_metrics, "key_metrics": key_metrics, "group_level_metrics": group_level}
