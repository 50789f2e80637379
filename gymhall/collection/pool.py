"""Collecting rollouts: rows in, one line per rollout out, at bounded concurrency, resumable.

`rollouts` is the library API a trainer calls: give it rows and a runner (an `Agent.run`, or a
remote agent's), and it yields each rollout's line as it finishes. Retryable failures are retried
(with backoff) up to `max_attempts`; what still fails is yielded as a failed line, never dropped.

`collect` drives `rollouts` for the command line: it appends each line to the output file with one
write (a SIGKILL leaves at most a torn last line, which `resume` cuts off), and on `resume` runs only
the (task, rollout) keys the file does not hold yet, so a killed run completes with no duplicate
and no lost row.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gymhall.collection.datasets import iter_jsonl
from gymhall.exceptions import DatasetError
from gymhall.wire.lines import line_key

__all__ = ["CollectStats", "Runner", "collect", "completed_keys", "rollouts"]

Runner = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]
"""Runs one rollout of a row and returns its line (ok or failed); never raises for a failed rollout."""


async def _run_with_retries(run: Runner, row: Mapping[str, Any], max_attempts: int, backoff_s: float) -> dict[str, Any]:
    attempt = 1
    while True:
        line = await run(row)
        failure = line.get("failure")
        if line.get("status") != "failed" or not isinstance(failure, dict):
            return line
        failure["attempts"] = attempt
        if not failure.get("retryable") or attempt >= max_attempts:
            return line
        # Exponential backoff with full jitter, so a fleet of failed rows does not retry in lockstep.
        await asyncio.sleep(random.uniform(0, backoff_s * 2 ** (attempt - 1)))
        attempt += 1


async def rollouts(
    rows: Iterable[Mapping[str, Any]],
    run: Runner,
    *,
    concurrency: int = 64,
    max_attempts: int = 3,
    retry_backoff_s: float = 0.5,
) -> AsyncIterator[dict[str, Any]]:
    """Run every row with `run`, `concurrency` at a time, yielding lines in completion order.

    Rows are taken from the iterable as workers free up, so a huge dataset is never held in tasks.
    Stopping the iteration early cancels the rollouts in flight.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    source = iter(rows)
    results: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def worker() -> None:
        try:
            for row in source:
                await results.put(await _run_with_retries(run, row, max_attempts, retry_backoff_s))
        finally:
            await results.put(None)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        running = len(workers)
        while running:
            line = await results.get()
            if line is None:
                running -= 1
                continue
            yield line
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
    if not path.exists():
        return set()
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
    return {line_key(line) for _, line in iter_jsonl(path)}


@dataclass
class CollectStats:
    """What a collection run did; `rewards` holds the ok lines' rewards."""

    total: int = 0
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    failed_by_stage: dict[str, int] = field(default_factory=dict)
    rewards: list[float] = field(default_factory=list)

    @property
    def mean_reward(self) -> float | None:
        """Mean reward of the ok lines so far, or None before the first."""
        return sum(self.rewards) / len(self.rewards) if self.rewards else None

    def add(self, line: Mapping[str, Any]) -> None:
        """Count one finished line."""
        if line.get("status") == "ok":
            self.ok += 1
            reward = line.get("reward")
            if isinstance(reward, int | float):
                self.rewards.append(float(reward))
        else:
            self.failed += 1
            stage = str((line.get("failure") or {}).get("stage", "unknown"))
            self.failed_by_stage[stage] = self.failed_by_stage.get(stage, 0) + 1


async def collect(
    rows: list[dict[str, Any]],
    output: Path,
    run: Runner,
    *,
    concurrency: int = 64,
    resume: bool = False,
    overwrite: bool = False,
    max_attempts: int = 3,
    on_line: Callable[[dict[str, Any], CollectStats], None] | None = None,
) -> CollectStats:
    """Run every expanded row not yet in `output`, appending one line per rollout."""
    if output.exists() and not (resume or overwrite):
        raise DatasetError(f"{output} already exists. Pass --resume to finish that run, or --overwrite to start again.")
    if overwrite and not resume:
        output.unlink(missing_ok=True)
    done = completed_keys(output) if resume else set()
    pending = [row for row in rows if line_key(row) not in done]
    stats = CollectStats(total=len(rows), skipped=len(rows) - len(pending))
    output.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        async for line in rollouts(pending, run, concurrency=concurrency, max_attempts=max_attempts):
            # One write per line on an O_APPEND descriptor: a kill leaves whole lines and at most one torn tail.
            _write_all(fd, orjson.dumps(line, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
            stats.add(line)
            if on_line is not None:
                on_line(line, stats)
    finally:
        os.close(fd)
    return stats


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
