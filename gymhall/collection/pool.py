"""Collecting rollouts: rows in, one line per rollout out, at bounded concurrency, resumable.

`rollouts` is the library API a trainer calls: give it rows and a runner (an `Agent.run`, or a
remote agent's), and it yields each rollout's line as it finishes. Retryable failures are retried
(with backoff) up to `max_attempts`; what still fails is yielded as a failed line, never dropped.

`collect` drives `rollouts` for the command line: it appends each line to the output file with one
write (a SIGKILL leaves at most a torn last line, which `resume` cuts off), and on `resume` runs the
(task, rollout) keys the file does not hold yet, and those whose newest line is a retryable failure
(unless `keep_failures`), so a killed run, or one whose servers went down, completes with no duplicate
and no lost row. The file stays append-only: a retried row's new line is appended, and every reader
takes the newer line for a key (`gymhall.collection.datasets.latest_lines`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gymhall import tracing
from gymhall.collection.datasets import iter_jsonl
from gymhall.exceptions import DatasetError
from gymhall.wire.lines import RolloutFailure, failed_line, line_key

__all__ = ["CollectStats", "Runner", "check_output", "collect", "completed_keys", "rollouts"]

Runner = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]
"""Runs one rollout of a row and returns its line (ok or failed); never raises for a failed rollout."""


async def _run_with_retries(
    run: Runner, row: Mapping[str, Any], max_attempts: int, backoff_s: float, budget_s: float | None
) -> dict[str, Any]:
    """Run `row` until it passes, fails for good, uses `max_attempts`, or spends its `budget_s` (all attempts)."""
    deadline = None if budget_s is None else time.monotonic() + budget_s
    attempt = 1
    tracing.attempt.set(attempt)  # each worker task runs its rows one at a time: its own context
    line = await run(row)  # the first attempt's own deadline (the runner's) is the whole budget
    while True:
        failure = line.get("failure")
        if line.get("status") != "failed" or not isinstance(failure, dict):
            return line
        failure["attempts"] = attempt
        if not failure.get("retryable") or attempt >= max_attempts:
            return line
        # Exponential backoff with full jitter, so a fleet of failed rows does not retry in lockstep.
        pause = random.uniform(0, backoff_s * 2 ** (attempt - 1))
        if deadline is not None and time.monotonic() + pause >= deadline:
            return line  # no budget left for another attempt: the last failure stands
        await asyncio.sleep(pause)
        attempt += 1
        tracing.attempt.set(attempt)
        if deadline is None:
            line = await run(row)
            continue
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                line = await run(row)
        except TimeoutError:
            error = (
                f"the row's budget of {budget_s:g} s (--timeout, all attempts) ran out during attempt {attempt}; "
                f"the attempt before: {failure.get('error')}"
            )
            line = failed_line(row, RolloutFailure(failure.get("stage", "agent"), error, True), {})
            line["failure"]["attempts"] = attempt
            return line


_RETRY_BACKOFF_S = 0.5
"""The first retry's pause is drawn from [0, 2 x this] s; each further one doubles it."""
_DUMP_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


async def rollouts(
    rows: Iterable[Mapping[str, Any]],
    run: Runner,
    *,
    concurrency: int = 64,
    max_attempts: int = 3,
    retry_backoff_s: float = _RETRY_BACKOFF_S,
    row_timeout_s: float | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Run every row with `run`, `concurrency` at a time, yielding lines in completion order.

    Rows are taken from the iterable as workers free up, so a huge dataset is never held in tasks.
    Stopping the iteration early cancels the rollouts in flight. `row_timeout_s` is each row's whole
    budget across its attempts: no retry starts once it is spent, and a retry gets only what is left
    (the runner's own deadline should be the same budget: it bounds the first attempt).
    """
    async for batch in _batches(rows, run, concurrency, max_attempts, retry_backoff_s, row_timeout_s):
        for line in batch:
            yield line


async def _batches(
    rows: Iterable[Mapping[str, Any]],
    run: Runner,
    concurrency: int,
    max_attempts: int,
    retry_backoff_s: float,
    row_timeout_s: float | None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """`rollouts`' lines, each time as all the lines finished by then (one or more), in completion order."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    source = iter(rows)
    results: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def worker() -> None:
        try:
            for row in source:
                await results.put(await _run_with_retries(run, row, max_attempts, retry_backoff_s, row_timeout_s))
        finally:
            await results.put(None)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        running = len(workers)
        while running:
            ready = [await results.get()]
            while not results.empty():
                ready.append(results.get_nowait())
            batch = [line for line in ready if line is not None]
            running -= len(ready) - len(batch)
            if batch:
                yield batch
        for task in workers:
            task.result()  # surface a crash of the runner itself
    finally:
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def completed_keys(path: Path) -> set[tuple[int, int]]:
    """The (task, rollout) keys already in a rollouts file; a torn last line is cut off the file."""
    return {line_key(line) for line in _done_lines(path)}


def _done_lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
    for _, line in iter_jsonl(path):
        yield line


_ERROR_CHARS = 300  # a failure message is grouped by its first line, cut to this length


@dataclass
class CollectStats:
    """What a collection run did: this run's lines, and in `before` the lines a resumed output already held.

    `rewards` holds the ok lines' rewards; `errors` counts failed lines by "stage: first line of the error".
    """

    total: int = 0
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    failed_by_stage: dict[str, int] = field(default_factory=dict)
    rewards: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    before: CollectStats | None = None

    @property
    def mean_reward(self) -> float | None:
        """Mean reward of the ok lines so far, or None before the first."""
        return sum(self.rewards) / len(self.rewards) if self.rewards else None

    @property
    def coverage(self) -> float | None:
        """The fraction of finished lines the mean reward covers (ok / ok + failed), or None before the first."""
        done = self.ok + self.failed
        return self.ok / done if done else None

    def add(self, line: Mapping[str, Any]) -> None:
        """Count one finished line."""
        if line.get("status") == "ok":
            self.ok += 1
            reward = line.get("reward")
            if isinstance(reward, int | float):
                self.rewards.append(float(reward))
        else:
            self.failed += 1
            failure = line.get("failure")
            failure = failure if isinstance(failure, Mapping) else {}
            stage = str(failure.get("stage", "unknown"))
            self.failed_by_stage[stage] = self.failed_by_stage.get(stage, 0) + 1
            error = str(failure.get("error") or "no error message").strip().splitlines() or ["no error message"]
            self.errors[f"{stage}: {error[0][:_ERROR_CHARS]}"] += 1

    def overall(self) -> CollectStats:
        """The whole output: the lines held `before` a resume and this run's, counted together."""
        if self.before is None:
            return self
        before = self.before
        stages = Counter(before.failed_by_stage) + Counter(self.failed_by_stage)
        return CollectStats(
            total=self.total,
            ok=before.ok + self.ok,
            failed=before.failed + self.failed,
            failed_by_stage=dict(stages),
            rewards=[*before.rewards, *self.rewards],
            errors=before.errors + self.errors,
        )


def check_output(output: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse `--resume` with `--overwrite`, and an existing output with neither."""
    if resume and overwrite:
        raise ValueError(
            "--resume and --overwrite contradict each other: --resume finishes the run in the output, "
            "--overwrite deletes it. Pass one of them."
        )
    if output.exists() and not (resume or overwrite):
        raise DatasetError(f"{output} already exists. Pass --resume to finish that run, or --overwrite to start again.")


async def collect(
    rows: list[dict[str, Any]],
    output: Path,
    run: Runner,
    *,
    concurrency: int = 64,
    resume: bool = False,
    overwrite: bool = False,
    max_attempts: int = 3,
    row_timeout_s: float | None = None,
    keep_failures: bool = False,
    on_line: Callable[[dict[str, Any], CollectStats], None] | None = None,
    on_pending: Callable[[list[dict[str, Any]]], None] | None = None,
) -> CollectStats:
    """Run every expanded row not yet in `output`, appending one line per rollout.

    With `resume`, the rows whose (task, rollout) key the output already holds are skipped, and their
    lines are counted in the answer's `before`; a row whose newest line is a retryable failure is run
    again (its new line appended, and counted in this run, not in `before`) unless `keep_failures`.
    `row_timeout_s` is each row's budget across attempts. `on_pending(rows)` is told the rows about to
    run, once, before the first (`SessionForks.expect`).
    """
    check_output(output, resume=resume, overwrite=overwrite)
    if overwrite:
        output.unlink(missing_ok=True)
    wanted = {line_key(row) for row in rows}
    before = CollectStats()
    newest: dict[tuple[int, int], dict[str, Any]] = {}
    for line in _done_lines(output) if resume else ():
        key = line_key(line)
        if key in wanted:
            newest[key] = line  # a later line for a key (a retry) wins
    done: set[tuple[int, int]] = set()
    for key, line in newest.items():
        if keep_failures or not _retryable_failure(line):
            done.add(key)
            before.add(line)
    pending = [row for row in rows if line_key(row) not in done]
    if on_pending is not None:
        on_pending(pending)
    stats = CollectStats(total=len(rows), skipped=len(rows) - len(pending), before=before if resume else None)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        async for batch in _batches(pending, run, concurrency, max_attempts, _RETRY_BACKOFF_S, row_timeout_s):
            # One write of whole lines on an O_APPEND descriptor (all those finished by now, which saves a
            # system call a line under load): a kill leaves whole lines and at most one torn tail.
            _write_all(fd, b"".join(orjson.dumps(line, option=_DUMP_OPTIONS) + b"\n" for line in batch))
            for line in batch:
                stats.add(line)
                if on_line is not None:
                    on_line(line, stats)
    finally:
        os.close(fd)
    return stats


def _retryable_failure(line: Mapping[str, Any]) -> bool:
    """Whether a line is a failure a new attempt may pass (a server that was down, a timeout, a judge error)."""
    failure = line.get("failure")
    return line.get("status") == "failed" and isinstance(failure, Mapping) and failure.get("retryable") is True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
