"""A run's summary for the page: the metrics of `gymhall metrics`, failures, timings, tokens, histograms.

The counts, mean reward, coverage, pass@k and majority@k come from
`gymhall.collection.metrics.rollout_metrics`, fed one small line per indexed rollout (its key, status,
reward and answer, never its response), so the page and `gymhall metrics` agree to the last digit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from gymhall.collection.metrics import rollout_metrics
from gymhall.view.index import RolloutEntry, RolloutIndex
from gymhall.wire.lines import ROLLOUT_KEY, TASK_KEY

__all__ = ["histogram", "percentile", "run_summary"]

_TIMING_ORDER = ("seed_s", "model_s", "tools_s", "verify_s", "close_s", "total_s")
_TOKEN_KEYS = ("input_tokens", "output_tokens", "total_tokens")
_MAX_COMPONENTS = 12
_TOP_MESSAGES = 5
_BINS = 20


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted `values` (`fraction` in (0, 1]); p99 of 10 values is the largest."""
    if not values:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


def histogram(values: Iterable[float]) -> dict[str, Any]:
    """Bars of `values`: one per value where there are few distinct ones (0/1 rewards), else equal-width bins."""
    data = sorted(values)
    if not data:
        return {"count": 0, "bins": []}
    distinct = sorted(set(data))
    if len(distinct) <= 12:
        counts = Counter(data)
        bins = [{"label": f"{v:g}", "lo": v, "hi": v, "count": counts[v]} for v in distinct]
        return {"count": len(data), "bins": bins}
    lo, hi = data[0], data[-1]
    width = (hi - lo) / _BINS
    tally = [0] * _BINS
    for v in data:
        tally[min(_BINS - 1, int((v - lo) / width))] += 1
    bins = [
        {"label": f"{lo + i * width:.3g}", "lo": lo + i * width, "hi": lo + (i + 1) * width, "count": tally[i]}
        for i in range(_BINS)
    ]
    return {"count": len(data), "bins": bins}


def _metric_line(entry: RolloutEntry, answer_key: str | None) -> dict[str, Any]:
    # The shape `rollout_metrics` reads: the key, the status, the failure's stage, the reward. Only the
    # reward: the page shows no other mean, and `rollout_metrics` summarizes every field of every task
    # (exact `statistics.pstdev`), which costs seconds per field on a 100,000-rollout run.
    line: dict[str, Any] = {TASK_KEY: entry.task, ROLLOUT_KEY: entry.rollout}
    if entry.ok:
        if entry.reward is not None:
            line["reward"] = entry.reward
        line["status"] = "ok"
        if answer_key is not None:
            line[answer_key] = entry.answer
    else:
        line["status"] = "failed"
        line["failure"] = {"stage": entry.stage}
    return line


def _failures(entries: Sequence[RolloutEntry]) -> list[dict[str, Any]]:
    by_stage: dict[str, Counter[str]] = {}
    for entry in entries:
        if not entry.ok:
            by_stage.setdefault(entry.stage or "unknown", Counter())[entry.message or ""] += 1
    stages = sorted(by_stage.items(), key=lambda item: (-item[1].total(), item[0]))
    return [
        {
            "stage": stage,
            "count": messages.total(),
            "messages": [{"message": m, "count": c} for m, c in messages.most_common(_TOP_MESSAGES)],
        }
        for stage, messages in stages
    ]


def _timings(entries: Sequence[RolloutEntry]) -> list[dict[str, Any]]:
    columns: dict[str, list[float]] = {}
    for entry in entries:
        for key, value in (entry.timings or {}).items():
            columns.setdefault(key, []).append(value)
    order = [k for k in _TIMING_ORDER if k in columns] + sorted(k for k in columns if k not in _TIMING_ORDER)
    rows = []
    for key in order:
        values = sorted(columns[key])
        rows.append(
            {
                "stage": key.removesuffix("_s"),
                "n": len(values),
                "p50": percentile(values, 0.5),
                "p99": percentile(values, 0.99),
            }
        )
    return rows


def _tokens(entries: Sequence[RolloutEntry]) -> list[dict[str, Any]]:
    rows = []
    for key in _TOKEN_KEYS:
        values = [entry.fields[key] for entry in entries if key in entry.fields]
        if values:
            rows.append({"name": key, "n": len(values), "total": sum(values), "mean": sum(values) / len(values)})
    return rows


def _component_histograms(entries: Sequence[RolloutEntry]) -> tuple[str, dict[str, dict[str, Any]]]:
    """The reward components' histograms; without components, those of the other fields within [0, 1]."""
    columns: dict[str, list[float]] = {}
    for entry in entries:
        for key, value in entry.fields.items():
            columns.setdefault(key, []).append(value)
    components = sorted(k for k in columns if k.startswith("reward_components/"))
    if components:
        return "reward components", {k.removeprefix("reward_components/"): histogram(columns[k]) for k in components}
    skip = {"reward", *_TOKEN_KEYS}
    others = sorted(k for k, vs in columns.items() if k not in skip and all(0.0 <= v <= 1.0 for v in vs))
    return "other fields in [0, 1]", {k: histogram(columns[k]) for k in others[:_MAX_COMPONENTS]}


def run_summary(index: RolloutIndex) -> dict[str, Any]:
    """The page's summary of one run (see the module docstring); computed from the index, never the file."""
    entries, _, version = index.snapshot()
    metrics = rollout_metrics((_metric_line(e, index.answer_key) for e in entries), answer_key=index.answer_key)
    ok = [entry for entry in entries if entry.ok]
    component_title, components = _component_histograms(ok)
    return {
        "path": str(index.path),
        "version": version,
        "answer_key": index.answer_key,
        "bad_lines": index.bad_lines[:20],
        "bad_line_count": len(index.bad_lines),
        "counts": metrics["counts"],
        "key_metrics": metrics["key_metrics"],
        "pass@k": metrics["pass@k"],
        "majority@k": metrics.get("majority@k"),
        "num_tasks@k": metrics["num_tasks@k"],
        "success_threshold": metrics["success_threshold"],
        "failures": _failures(entries),
        "timings": _timings(entries),
        "tokens": _tokens(ok),
        "reward_histogram": histogram(e.reward for e in ok if e.reward is not None),
        "component_title": component_title,
        "component_histograms": components,
    }
