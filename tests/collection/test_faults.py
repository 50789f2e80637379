"""Fault injection: the collector and a model server killed mid-run; every rollout ends exactly once.

The other faults have their own tests: one SIGKILL of `collect` then `--resume` is
tests/collection/test_pool.py::test_sigkill_then_resume_completes_with_no_duplicate_and_no_loss, and a
resources server that died mid-run is
tests/cli/test_collect.py::test_resume_after_the_resources_server_died_completes_the_failed_rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gymhall.cli.collect import ROWS_FAILED
from gymhall.collection.datasets import iter_jsonl
from gymhall.wire.lines import line_key

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "counter" / "data" / "example.jsonl"
CONFIG = ROOT / "examples" / "counter" / "configs" / "counter.yaml"
ROWS = len(DATA.read_bytes().splitlines())
REPEATS = 10


@contextmanager
def model_server(delay_s: float) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A fake OpenAI server (the counter policy) in a subprocess: its base URL and the process."""
    command = [sys.executable, "-m", "gymhall.models.fake_openai", "--policy", "counter", "--delay-s", str(delay_s)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert child.stdout is not None
        banner = child.stdout.readline().decode()  # "gymhall: fake OpenAI server on http://...:port/v1 (...)"
        url = next(word for word in banner.split() if word.startswith("http://"))
        yield url, child
    finally:
        child.kill()
        child.wait(10)


def collect_command(out: Path, url: str, *extra: str, repeats: int = REPEATS, concurrency: int = 4) -> list[str]:
    command = [sys.executable, "-m", "gymhall", "collect", "-i", str(DATA), "-o", str(out), "--config", str(CONFIG)]
    command += ["--model", f"{url}#fake-model", "--repeats", str(repeats), "--concurrency", str(concurrency)]
    return [*command, *extra]


def lines_of(out: Path) -> list[dict[str, Any]]:
    """The lines written so far; a last line the collector is still writing (or was killed writing) is skipped."""
    return [line for _, line in iter_jsonl(out, tolerate_torn_tail=True)] if out.exists() else []


def wait_for_lines(out: Path, count: int, child: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(lines_of(out)) < count and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.slow
def test_repeated_sigkills_of_collect_mid_run_and_mid_resume_then_resume_ends_each_rollout_once(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jsonl"
    total = ROWS * REPEATS
    with model_server(delay_s=0.02) as (url, _):
        command = collect_command(out, url)
        for kill in range(3):  # the first run, then two resumes, each SIGKILLed part-way
            child = subprocess.Popen(
                command if kill == 0 else [*command, "--resume"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_for_lines(out, len(lines_of(out)) + 10, child)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        written = len(lines_of(out))
        assert 30 <= written < total, "every run should have been killed part-way"
        resumed = subprocess.run([*command, "--resume"], capture_output=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    lines = lines_of(out)
    keys = Counter(line_key(line) for line in lines)
    assert len(keys) == total and max(keys.values()) == 1, "a rollout was lost or written twice"
    assert all(line["status"] == "ok" and "reward" in line for line in lines)


@pytest.mark.slow
def test_a_model_server_killed_mid_run_gives_typed_model_failures_and_resume_completes_the_set(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jsonl"
    total = ROWS * 4
    # Waves of 16 rollouts of about 0.4 s; each rollout left when the server dies spends the model
    # client's retries (about 3.5 s) before it fails.
    with model_server(delay_s=0.2) as (url, server):
        command = collect_command(out, url, "--max-attempts", "1", repeats=4, concurrency=16)
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_lines(out, 16, child)
        os.kill(server.pid, signal.SIGKILL)  # the model server dies mid-run
        _, stderr = child.communicate(timeout=120)
    assert child.returncode == ROWS_FAILED, stderr.decode()[-2000:]
    assert "Traceback" not in stderr.decode()
    lines = lines_of(out)
    assert len(lines) == total and len({line_key(line) for line in lines}) == total
    failed = [line for line in lines if line["status"] != "ok"]
    assert 0 < len(failed) < total, "the server should have died part-way"
    for line in failed:  # typed, retryable, at the model stage, and never a reward
        assert line["failure"]["stage"] == "model" and line["failure"]["retryable"], line["failure"]
        assert line.get("reward") is None
    with model_server(delay_s=0.0) as (url, _):  # a restarted model server (another port)
        command = collect_command(out, url, "--resume", repeats=4, concurrency=16)
        resumed = subprocess.run(command, capture_output=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    latest = {line_key(line): line for line in lines_of(out)}  # the newer line wins
    assert len(latest) == total and all(line["status"] == "ok" for line in latest.values())
    assert len(lines_of(out)) == total + len(failed)  # append-only: one retry line per failed rollout
