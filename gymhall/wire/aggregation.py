"""The answer to NeMo Gym's `POST /aggregate_metrics`, computed: the server's route and the agent's share it.

What is a metric: `reward`; every `reward_components` entry (as `reward_components/<name>`); every other
numeric top-level field of a verify response (booleans count as 0/1) that verify itself returned, which is
how an environment declares a metric; and every numeric `response.usage` field. A verify response echoes
the dataset row, so its numeric task fields (a `world_seed`, an id) would look like metrics too: pass their
names as `inputs` and they are left out. Without `inputs` every numeric field counts, as in NeMo Gym's
default `/aggregate_metrics`. Each is summarized per task (`_ng_task_index`) and overall as
`mean/<field>`, `min/`, `max/`, `median/`, `std/`.

Masked rows (`mask_sample` true, as NeMo Gym 0.7 marks a rollout not to be scored, or a failed
gymhall line: `status` other than "ok") are left out of every statistic and counted beside them:
`coverage` (measured rollouts / all), `coverage/measured_rollouts`, `coverage/masked_rollouts`,
`coverage/measured_tasks`, `coverage/fully_masked_tasks`, in `agent_metrics` and `key_metrics`, so a
mean is never read without what it covers. NeMo Gym 0.7 reports the same keys only when something
was masked; gymhall always does.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from gymhall.wire.lines import MASK_SAMPLE_KEY, ROLLOUT_KEY, TASK_KEY

__all__ = ["aggregate_metrics", "coverage", "is_masked", "numeric_fields", "summarize"]

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
        mean = math.fsum(values) / len(values)
        summary[f"mean/{key}"] = mean
        summary[f"min/{key}"] = min(values)
        summary[f"max/{key}"] = max(values)
        summary[f"median/{key}"] = statistics.median(values)
        # The population std in floats (fsum): statistics.pstdev is exact, through fractions, and 20x slower on
        # a task's few rollouts, which made it the bulk of `gymhall metrics` on large runs.
        spread = math.fsum((value - mean) ** 2 for value in values) / len(values)
        summary[f"std/{key}"] = math.sqrt(spread) if len(values) > 1 else 0.0
    return summary


def is_masked(row: Mapping[str, Any]) -> bool:
    """Whether a verify response or line is left out of the statistics: masked, or a failed line."""
    return row.get(MASK_SAMPLE_KEY) is True or row.get("status", "ok") != "ok"


def coverage(measured: int, masked: int, measured_tasks: int, tasks: int) -> dict[str, float]:
    """The coverage keys: what fraction of the rollouts (and tasks) the statistics beside them measure."""
    total = measured + masked
    return {
        "coverage": measured / total if total else 0.0,
        "coverage/measured_rollouts": float(measured),
        "coverage/masked_rollouts": float(masked),
        "coverage/measured_tasks": float(measured_tasks),
        "coverage/fully_masked_tasks": float(tasks - measured_tasks),
    }


def aggregate_metrics(verify_responses: list[dict[str, Any]], *, inputs: Collection[str] = ()) -> dict[str, Any]:
    """Per-task and overall metrics: `{"agent_metrics", "key_metrics", "group_level_metrics"}`.

    `inputs`: the names of the dataset row's fields, which are not metrics (see the module's docstring).
    """
    groups: dict[Any, list[dict[str, Any]]] = {}
    for position, row in enumerate(verify_responses):
        groups.setdefault(row.get(TASK_KEY, position), []).append(row)
    group_level = []
    for task, rows in groups.items():
        measured = [row for row in rows if not is_masked(row)]
        entry = {TASK_KEY: task, "num_rollouts": len(rows), **summarize(measured, inputs=inputs)}
        if len(measured) < len(rows):
            entry["missing_num_rollouts"] = len(rows) - len(measured)
        group_level.append(entry)
    measured = [row for row in verify_responses if not is_masked(row)]
    measured_tasks = sum(1 for rows in groups.values() if any(not is_masked(row) for row in rows))
    covered = coverage(len(measured), len(verify_responses) - len(measured), measured_tasks, len(groups))
    agent_metrics = {**summarize(measured, inputs=inputs), **covered}
    key_metrics = {k: v for k, v in agent_metrics.items() if k.startswith(("mean/", "coverage"))}
    return {"agent_metrics": agent_metrics, "key_metrics": key_metrics, "group_level_metrics": group_level}
