"""Collecting rollouts: bounded concurrency, retries, one line per rollout, resume after SIGKILL."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from gymhall.collection.datasets import expand_rows
from gymhall.collection.pool import collect, completed_keys, rollouts
from gymhall.exceptions import DatasetError
from gymhall.wire.lines import RolloutFailure, failed_line, line_key, ok_line

ROWS = expand_rows([{"responses_create_params": {"input": f"task {i}"}} for i in range(10)], 3)


def make_runner(fail: dict[tuple[int, int], list[bool]] | None = None, delay: float = 0.0) -> Any:
    """A runner that fails some keys (retryable or not, per attempt) and records concurrency."""
    state = {"in_flight": 0, "peak": 0, "calls": Counter()}
    plans = {key: list(value) for key, value in (fail or {}).items()}

    async def run(row: dict[str, Any]) -> dict[str, Any]:
        key = line_key(row)
        state["calls"][key] += 1
        state["in_flight"] += 1
        state["peak"] = max(state["peak"], state["in_flight"])
        try:
            await asyncio.sleep(delay)
            if plans.get(key):
                retryable = plans[key].pop(0)
                return failed_line(row, RolloutFailure("model", "backend down", retryable), {})
            return ok_line(row, {**row, "reward": 1.0}, {})
        finally:
            state["in_flight"] -= 1

    return run, state


async def test_every_row_ends_as_exactly_one_line_with_bounded_concurrency() -> None:
    run, state = make_runner(delay=0.001)
    lines = [line async for line in rollouts(ROWS, run, concurrency=4)]
    assert sorted(line_key(line) for line in lines) == sorted(line_key(row) for row in ROWS)
    assert state["peak"] == 4


async def test_retryable_failures_are_retried_and_counted() -> None:
    run, state = make_runner({(0, 0): [True, True], (1, 0): [True, True, True, True], (2, 0): [False]})
    lines = {line_key(line): line async for line in rollouts(ROWS, run, retry_backoff_s=0.001)}
    assert lines[(0, 0)]["status"] == "ok" and state["calls"][(0, 0)] == 3
    assert lines[(1, 0)]["failure"] == {"stage": "model", "error": "backend down", "retryable": True, "attempts": 3}
    assert state["calls"][(1, 0)] == 3  # capped by max_attempts
    assert lines[(2, 0)]["failure"]["attempts"] == 1 and state["calls"][(2, 0)] == 1
    assert "reward" not in lines[(1, 0)]


async def test_stopping_early_cancels_rollouts_in_flight() -> None:
    run, state = make_runner(delay=0.05)
    stream = rollouts(ROWS, run, concurrency=5)
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    await asyncio.sleep(0.01)
    assert state["in_flight"] == 0 and sum(state["calls"].values()) < len(ROWS)


async def test_collect_refuses_to_clobber_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run, _ = make_runner()
    stats = await collect(ROWS[:10], out, run)
    assert stats.ok == 10
    with pytest.raises(DatasetError, match="--resume"):
        await collect(ROWS, out, run)
    stats = await collect(ROWS, out, run, resume=True)
    assert stats.skipped == 10 and stats.ok == 20
    keys = [line_key(orjson.loads(line)) for line in out.read_bytes().splitlines()]
    assert len(keys) == len(set(keys)) == len(ROWS)


async def test_resume_cuts_a_torn_last_line_and_reruns_it(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run, _ = make_runner()
    await collect(ROWS[:5], out, run)
    whole = out.read_bytes()
    out.write_bytes(whole + b'{"_ng_task_index": 1, "_ng_rollout_index": 2, "sta')  # killed mid-write
    assert completed_keys(out) == {line_key(row) for row in ROWS[:5]}
    assert out.read_bytes() == whole
    await collect(ROWS, out, run, resume=True)
    keys = Counter(line_key(orjson.loads(line)) for line in out.read_bytes().splitlines())
    assert set(keys) == {line_key(row) for row in ROWS} and max(keys.values()) == 1


async def test_a_rows_timeout_is_its_budget_across_attempts() -> None:
    # Each attempt takes 0.3 s and fails retryably; with a 0.45 s budget the second attempt is cut at
    # the budget and no third one starts (before: 3 attempts of 0.3 s each, whatever the budget).
    calls: Counter[int] = Counter()

    async def slow_failure(row: dict[str, Any]) -> dict[str, Any]:
        calls[line_key(row)[0]] += 1
        await asyncio.sleep(0.3)
        return failed_line(row, RolloutFailure("model", "backend slow", True), {})

    started = time.monotonic()
    (line,) = [line async for line in rollouts(ROWS[:1], slow_failure, retry_backoff_s=0.0, row_timeout_s=0.45)]
    elapsed = time.monotonic() - started
    assert 0.44 <= elapsed < 0.6 and calls[0] == 2
    assert line["failure"]["attempts"] == 2 and line["failure"]["stage"] == "model"
    assert "budget of 0.45 s (--timeout, all attempts)" in line["failure"]["error"]
    assert "backend slow" in line["failure"]["error"]


async def test_no_retry_starts_once_the_budget_is_spent() -> None:
    run, state = make_runner({(0, 0): [True, True, True]}, delay=0.1)
    (line,) = [line async for line in rollouts(ROWS[:1], run, retry_backoff_s=0.0, row_timeout_s=0.1)]
    assert state["calls"][(0, 0)] == 1 and line["failure"]["attempts"] == 1


async def test_resume_counts_the_lines_done_before_apart(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run, _ = make_runner({(0, 0): [False]})
    await collect(ROWS[:4], out, run)
    stats = await collect(ROWS[:10], out, run, resume=True)
    assert stats.before is not None and (stats.before.ok, stats.before.failed) == (3, 1)
    assert (stats.ok, stats.failed, stats.skipped) == (6, 0, 4)
    overall = stats.overall()
    assert (overall.ok, overall.failed, overall.failed_by_stage) == (9, 1, {"model": 1})
    assert overall.errors == Counter({"model: backend down": 1})


async def test_resume_and_overwrite_together_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run, _ = make_runner()
    await collect(ROWS[:3], out, run)
    with pytest.raises(ValueError, match="--resume and --overwrite contradict each other"):
        await collect(ROWS, out, run, resume=True, overwrite=True)
    assert len(out.read_bytes().splitlines()) == 3  # nothing deleted


async def test_overwrite_starts_again(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run, _ = make_runner()
    await collect(ROWS, out, run)
    await collect(ROWS[:3], out, run, overwrite=True)
    assert len(out.read_bytes().splitlines()) == 3


SLOW_ENV = """
import asyncio
from gymhall import BaseSeedSessionRequest, BaseVerifyRequest, Environment, tool

class Row(BaseSeedSessionRequest):
    start: int = 0

class Slow(Environment):
    async def seed_session(self, row: Row) -> dict:
        return {"value": row.start}

    @tool
    async def add(self, state: dict, by: int) -> int:
        await asyncio.sleep(0.02)
        state["value"] += by
        return state["value"]

    async def verify(self, state: dict, body: BaseVerifyRequest) -> float:
        return float(body.response.output_text == str(state["value"]))
"""


@pytest.mark.slow
def test_sigkill_then_resume_completes_with_no_duplicate_and_no_loss(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(SLOW_ENV)
    (tmp_path / "slow.yaml").write_text(
        "slow:\n  resources_servers:\n    slow:\n      entrypoint: slow.py\n      domain: other\n"
    )
    solution = {"tool_calls": [{"name": "add", "arguments": {"by": 1}}] * 3}
    rows = [
        {
            "responses_create_params": {"input": "add"},
            "start": i,
            "reference_solution": {**solution, "answer": str(i + 3)},
        }
        for i in range(60)
    ]
    (tmp_path / "data.jsonl").write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "gymhall", "collect", "-i", "data.jsonl", "-o", str(out)]
    command += ["--config", "slow.yaml", "--model", "replay", "--repeats", "2", "--concurrency", "4"]
    child = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or len(out.read_bytes().splitlines()) < 20):
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    written = len(out.read_bytes().splitlines())
    assert 20 <= written < 120, "the run should have been killed part-way"
    resumed = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    keys = Counter(line_key(line) for line in lines)
    assert len(keys) == 120 and max(keys.values()) == 1
    assert all(line["status"] == "ok" and line["reward"] == 1.0 for line in lines)


async def test_resume_retries_retryable_failures_and_keeps_the_file_append_only(tmp_path: Path) -> None:
    # (0, 0) failed retryably (a server that was down), (1, 0) for good; the rest passed.
    out = tmp_path / "out.jsonl"
    run, _ = make_runner({(0, 0): [True], (1, 0): [False]})
    first = await collect(ROWS[:6], out, run, max_attempts=1)
    assert (first.ok, first.failed) == (4, 2)
    written = out.read_bytes()
    run, state = make_runner()
    stats = await collect(ROWS[:6], out, run, resume=True)
    assert state["calls"] == Counter({(0, 0): 1})  # only the retryable failure ran again
    assert out.read_bytes().startswith(written)  # appended, never rewritten
    assert stats.before is not None and (stats.before.ok, stats.before.failed) == (4, 1)
    assert (stats.ok, stats.failed, stats.skipped) == (1, 0, 5)
    overall = stats.overall()
    assert (overall.ok, overall.failed) == (5, 1)  # each rollout once: the retried row's newer line won
    # A second resume has nothing left to retry: the newest line of (0, 0) is ok.
    run, state = make_runner()
    again = await collect(ROWS[:6], out, run, resume=True)
    assert sum(state["calls"].values()) == 0 and again.skipped == 6


async def test_keep_failures_resumes_without_retrying_failed_rows(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run, _ = make_runner({(0, 0): [True]})
    await collect(ROWS[:3], out, run, max_attempts=1)
    run, state = make_runner()
    stats = await collect(ROWS[:6], out, run, resume=True, keep_failures=True)
    assert (0, 0) not in state["calls"] and sum(state["calls"].values()) == 3
    assert stats.overall().failed == 1


# Boundaries found by the mutation run (bench/README.md, "Mutation testing").


async def test_a_concurrency_of_one_runs_the_rows_one_at_a_time_and_zero_is_refused() -> None:
    run, state = make_runner(delay=0.001)
    lines = [line async for line in rollouts(ROWS[:5], run, concurrency=1)]
    assert len(lines) == 5 and state["peak"] == 1
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        [line async for line in rollouts(ROWS[:5], run, concurrency=0)]
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        [line async for line in rollouts(ROWS[:5], run, max_attempts=0)]


async def test_an_attempt_cut_by_the_rows_budget_stays_retryable() -> None:
    # The budget ran out, not the rollout's chances: a later `collect --resume` may run the row again.
    async def slow_failure(row: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return failed_line(row, RolloutFailure("tool", "tool server slow", True), {})

    (line,) = [line async for line in rollouts(ROWS[:1], slow_failure, retry_backoff_s=0.0, row_timeout_s=0.3)]
    assert line["failure"]["retryable"] is True and line["failure"]["stage"] == "tool"
    assert line["failure"]["attempts"] == 2 and "ran out during attempt 2" in line["failure"]["error"]


async def test_lines_finished_together_go_out_in_one_write_of_whole_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "out.jsonl"
    release = asyncio.Event()

    async def run(row: dict[str, Any]) -> dict[str, Any]:
        await release.wait()  # every rollout finishes in the same event-loop turn
        return ok_line(row, {**row, "reward": 1.0}, {})

    writes: list[bytes] = []
    real_write = os.write

    def recording_write(fd: int, data: Any) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", recording_write)
    asyncio.get_running_loop().call_later(0.05, release.set)
    stats = await collect(ROWS[:12], output, run, concurrency=12)
    assert stats.ok == 12
    assert len(writes) < 12  # not a system call a line
    assert all(chunk.endswith(b"\n") for chunk in writes)  # each write is whole lines
    assert sorted(line_key(orjson.loads(line)) for line in output.read_bytes().splitlines()) == sorted(
        line_key(row) for row in ROWS[:12]
    )
