"""Metrics of rollouts files.

`rollout_metrics` is the metrics file of a `gymhall collect` run: the statistics of
`gymhall.wire.aggregation` over the ok lines, failure counts per stage, and pass@k / majority@k computed as NeMo Gym's
`compute_pass_majority_metrics` does, but as fractions in [0, 1] rather than percentages.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from gymhall.collection.datasets import rollout_key
from gymhall.exceptions import DatasetError
from gymhall.wire.aggregation import coverage, numeric_fields, summarize
from gymhall.wire.lines import ROLLOUT_KEY, TASK_KEY

__all__ = ["pass_at_k", "read_rollouts", "rollout_metrics"]

logger = logging.getLogger("gymhall.metrics")

# --- pass@k and majority@k -------------------------------------------------------------------------


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator: the chance that k of `n` samples, `c` of them correct, hold a correct one.

    Equals 1 - C(n-c, k) / C(n, k), computed as a product of `c` factors so that large `n` never
    builds huge binomials (Chen et al. 2021, "Evaluating Large Language Models Trained on Code").
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n (got n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    # C(n-c, k) / C(n, k) = prod over i in (n-c, n] of (i - k) / i.
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def _answer_key(answer: Any) -> Any:
    # Answers read from JSON may be lists or objects; vote on a canonical encoding so they hash.
    if isinstance(answer, str | int | float):
        return answer
    return orjson.dumps(answer, option=orjson.OPT_SORT_KEYS)


def _majority_score(votes: Sequence[tuple[Any, float | None]], threshold: float) -> float:
    """Correctness of the most common answer among (answer, reward) votes; tied answers are averaged.

    A missing answer (None) does not vote, and a task with no answers scores 0, as in NeMo Gym. An
    answer is correct when the best reward of the rollouts that gave it reaches `threshold`.
    """
    counts: Counter[Any] = Counter()
    best: dict[Any, float] = {}
    for answer, reward in votes:
        if answer is None:
            continue
        key = _answer_key(answer)
        counts[key] += 1
        best[key] = max(best.get(key, -math.inf), -math.inf if reward is None else reward)
    if not counts:
        return 0.0
    top = max(counts.values())
    tied = [key for key, count in counts.items() if count == top]
    return sum(1.0 if best[key] >= threshold else 0.0 for key in tied) / len(tied)


# --- rollouts files --------------------------------------------------------------------------------


def read_rollouts(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The lines of a rollouts (JSONL) file, read lazily; blank lines are skipped.

    A last line that does not parse is what a writer killed mid-line leaves, so it is skipped with a
    warning. A bad line anywhere else, or a line that is not a JSON object, raises `DatasetError`
    naming the file and the line.
    """
    try:
        handle = open(path, "rb")  # closed by the `with` below; opened apart to name a missing file clearly
    except FileNotFoundError:
        raise DatasetError(f"Rollouts file {os.fspath(path)} does not exist.") from None
    with handle:
        # A bad line is only an error once a later non-blank line shows it was not the torn tail.
        pending_error: DatasetError | None = None
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            if pending_error is not None:
                raise pending_error
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                pending_error = DatasetError(
                    f"{os.fspath(path)}:{number}: not valid JSON ({exc}). Fix or remove that line."
                )
                continue
            if not isinstance(value, dict):
                raise DatasetError(
                    f"{os.fspath(path)}:{number}: a rollout line must be a JSON object, not {type(value).__name__}."
                )
            yield value
        if pending_error is not None:
            logger.warning("%s: skipped a torn last line (a writer killed mid-line)", os.fspath(path))


def _is_failed(line: Mapping[str, Any]) -> bool:
    # Lines without a status are NeMo Gym rollouts, whose main file holds only successes.
    return line.get("status") not in (None, "ok")


def _failure_stage(line: Mapping[str, Any]) -> str:
    failure = line.get("failure")
    stage = failure.get("stage") if isinstance(failure, Mapping) else None
    return str(stage) if stage is not None else "unknown"


def _reward(line: Mapping[str, Any]) -> float | None:
    reward = line.get("reward")
    return float(reward) if isinstance(reward, int | float) else None


def _rollout_order(position: int, line: Mapping[str, Any]) -> tuple[int, int]:
    # Lines are written in completion order; "the first k rollouts" means the first k by rollout index.
    index = line.get(ROLLOUT_KEY)
    if isinstance(index, int) and not isinstance(index, bool):
        return index, position
    return sys.maxsize, position


def _ordered_tasks(tasks: Iterable[Any]) -> list[Any]:
    keys = list(tasks)
    try:
        return sorted(keys)
    except TypeError:  # mixed index types: keep first-seen order
        return keys


@dataclass
class _Rollout:
    """What the metrics need of an ok line; the line itself (with its response) is not kept."""

    fields: dict[str, float]
    reward: float | None
    answer: Any


@dataclass
class _Task:
    """One task's ok rollouts, in rollout order, and the failure stage of each failed one."""

    index: Any
    ok: list[_Rollout] = field(default_factory=list)
    failed_stages: list[str] = field(default_factory=list)


def _group_tasks(lines: Iterable[Mapping[str, Any]], answer_key: str | None, inputs: Collection[str]) -> list[_Task]:
    # Each rollout once: a later line for the same (task, rollout) key (a retry a resumed run appended) wins.
    latest: dict[Any, tuple[Any, tuple[int, int], _Rollout | str]] = {}
    for position, line in enumerate(lines):
        entry: _Rollout | str
        if _is_failed(line):
            entry = _failure_stage(line)
        else:
            fields = numeric_fields(line, inputs=inputs)
            answer = None
            if answer_key is not None:
                # An extracted answer may be a number, but its mean means nothing.
                fields.pop(answer_key, None)
                answer = line.get(answer_key)
            entry = _Rollout(fields, _reward(line), answer)
        key = rollout_key(line)
        # A line without a task index is a task of its own, as in `aggregate_metrics`.
        latest[("unkeyed", position) if key is None else ("keyed", key)] = (
            line.get(TASK_KEY, position),
            _rollout_order(position, line),
            entry,
        )
    groups: dict[Any, list[tuple[tuple[int, int], _Rollout | str]]] = {}
    for task_index, order, entry in latest.values():
        groups.setdefault(task_index, []).append((order, entry))
    tasks = []
    for index in _ordered_tasks(groups):
        task = _Task(index)
        for _, entry in sorted(groups[index], key=lambda item: item[0]):
            if isinstance(entry, str):
                task.failed_stages.append(entry)
            else:
                task.ok.append(entry)
        tasks.append(task)
    return tasks


def _succeeded(rollout: _Rollout, threshold: float) -> bool:
    return rollout.reward is not None and rollout.reward >= threshold


def _at_k(tasks: Sequence[_Task], with_answers: bool, threshold: float) -> dict[str, dict[str, Any]]:
    """pass@k, majority@k (`with_answers`) and num_tasks@k, for k from 1 to the most ok rollouts of a task."""
    successes = [sum(1 for rollout in task.ok if _succeeded(rollout, threshold)) for task in tasks]
    result: dict[str, dict[str, Any]] = {"pass@k": {}, "num_tasks@k": {}}
    if with_answers:
        result["majority@k"] = {}
    for k in range(1, max((len(task.ok) for task in tasks), default=0) + 1):
        # Tasks with fewer than k ok rollouts cannot be scored at k; NeMo Gym leaves them out too.
        eligible = [i for i, task in enumerate(tasks) if len(task.ok) >= k]
        result["num_tasks@k"][str(k)] = len(eligible)
        result["pass@k"][f"pass@{k}"] = statistics.fmean(pass_at_k(len(tasks[i].ok), successes[i], k) for i in eligible)
        if with_answers:
            result["majority@k"][f"majority@{k}"] = statistics.fmean(
                _majority_score([(rollout.answer, rollout.reward) for rollout in tasks[i].ok[:k]], threshold)
                for i in eligible
            )
    return result


def rollout_metrics(
    lines: Iterable[Mapping[str, Any]],
    *,
    answer_key: str | None = None,
    success_threshold: float = 1.0,
    inputs: Collection[str] = (),
) -> dict[str, Any]:
    """The metrics file of a rollouts file: counts, statistics, pass@k and majority@k.

    Each (task, rollout) key counts once: where a resumed run appended a newer line for a key (a retried
    failure), the newer line wins. Failed lines (`status` other than "ok") are counted, per
    `failure.stage`, but left out of every statistic. A rollout succeeds when its
    `reward >= success_threshold`; pass@k is the unbiased estimator over each task's ok rollouts.
    For each k from 1 to the most ok rollouts any task has, pass@k and majority@k average over the
    tasks with at least k ok rollouts (`num_tasks@k` says how many). majority@k, computed only with
    `answer_key`, votes on that field over a task's first k ok rollouts by `_ng_rollout_index`.
    `key_metrics` puts the coverage of the statistics beside them (`gymhall.wire.aggregation.coverage`:
    ok rollouts / all, and the counts). All other values are fractions in [0, 1]. `inputs` names the
    dataset rows' fields, which are not metrics (a `world_seed` is never averaged; see
    `gymhall.wire.aggregation`).

    Returns `{"counts", "key_metrics", "overall", "pass@k", "num_tasks@k", ["majority@k"],
    "success_threshold", "per_task"}`; `per_task` is a list sorted by `_ng_task_index`.
    """
    tasks = _group_tasks(lines, answer_key, inputs)
    failed_by_stage = Counter(stage for task in tasks for stage in task.failed_stages)
    num_ok = sum(len(task.ok) for task in tasks)
    num_failed = sum(len(task.failed_stages) for task in tasks)
    counts: dict[str, Any] = {
        "lines": num_ok + num_failed,
        "ok": num_ok,
        "failed": num_failed,
        "failed_by_stage": dict(sorted(failed_by_stage.items())),
        "tasks": len(tasks),
    }
    if answer_key is not None:
        counts["no_answer"] = sum(1 for task in tasks for rollout in task.ok if rollout.answer is None)

    at_k = _at_k(tasks, answer_key is not None, success_threshold)
    # `fields` are already numeric, so `summarize` reads them back unchanged.
    overall = summarize(rollout.fields for task in tasks for rollout in task.ok)
    key_metrics: dict[str, float] = {}
    if "mean/reward" in overall:
        key_metrics["mean/reward"] = overall["mean/reward"]
    if at_k["pass@k"]:
        highest_k = len(at_k["pass@k"])
        key_metrics["pass@1"] = at_k["pass@k"]["pass@1"]
        key_metrics[f"pass@{highest_k}"] = at_k["pass@k"][f"pass@{highest_k}"]
        if answer_key is not None:
            key_metrics[f"majority@{highest_k}"] = at_k["majority@k"][f"majority@{highest_k}"]
    key_metrics["failure_rate"] = num_failed / counts["lines"] if counts["lines"] else 0.0
    measured_tasks = sum(1 for task in tasks if task.ok)
    key_metrics.update(coverage(num_ok, num_failed, measured_tasks, len(tasks)))

    per_task = [
        {
            TASK_KEY: task.index,
            "num_rollouts": len(task.ok) + len(task.failed_stages),
            "num_failed": len(task.failed_stages),
            "num_successes": sum(1 for rollout in task.ok if _succeeded(rollout, success_threshold)),
            **summarize(rollout.fields for rollout in task.ok),
        }
        for task in tasks
    ]
    return {
        "counts": counts,
        "key_metrics": key_metrics,
        "overall": overall,
        **at_k,
        "success_threshold": success_threshold,
        "per_task": per_task,
    }
