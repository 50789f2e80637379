"""`RayRunner`, `ray_rollouts` and `gymhall collect --ray` on a real local Ray cluster (one for the module).

The cluster has a head node with no CPU (the driver's) and two worker nodes of one CPU each, so two
workers land on two nodes; the node-kill test adds a third and removes it mid-collection. The
environment is the counter with a slow tool (`slow_counter/`), so rollouts are in flight long enough
to kill a worker, a node, or the driver, during them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import ray
from ray.cluster_utils import Cluster
from rich.console import Console

from gymhall.cli.progress import Progress
from gymhall.collection.datasets import expand_rows, latest_lines
from gymhall.collection.pool import collect, rollouts
from gymhall.exceptions import ConfigError
from gymhall.scale import RayRunner, WorkerSpec, ray_rollouts
from gymhall.testing import serve_in_thread
from gymhall.wire.lines import line_key

CONFIG = str(Path(__file__).resolve().parent / "slow_counter" / "slow_counter.yaml")

STARTUP: dict[str, float] = {}


@pytest.fixture(scope="module")
def nodes() -> Iterator[Cluster]:
    """Head (no CPU: the driver's) and two worker nodes of one CPU each; never `auto` (not another's cluster)."""
    started = time.monotonic()
    # Ray's own directory for this cluster: `Cluster` writes its address as the machine's latest (what
    # `ray.init()` and `auto` join), which must not redirect anyone else's Ray on this machine to ours.
    temp_dir = tempfile.mkdtemp(prefix="gh-ray-", dir="/tmp")  # short: Ray's socket paths live under it
    os.environ["RAY_TMPDIR"] = temp_dir
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        for _ in range(2):
            nodes.add_node(num_cpus=1)
        nodes.wait_for_nodes()
        ray.init(address=nodes.address, log_to_driver=False, logging_level="ERROR")
        STARTUP["ray.init"] = time.monotonic() - started
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()
        del os.environ["RAY_TMPDIR"]
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture
def cluster(nodes: Cluster) -> str:
    """The cluster's address, for the CLI's subprocesses."""
    return str(nodes.address)


def counter_rows(count: int, *, delay_s: float) -> list[dict[str, Any]]:
    rows = []
    for index in range(count):
        prompt = f"A counter starts at {index}. Add 1 with the increment tool, then reply with only its value."
        rows.append(
            {
                "responses_create_params": {"input": [{"role": "user", "content": prompt}]},
                "initial_count": index,
                "delay_s": delay_s,
                "reference_solution": {
                    "tool_calls": [{"name": "increment", "arguments": {"by": 1}}],
                    "answer": str(index + 1),
                },
            }
        )
    return rows


def keys_of(lines: list[dict[str, Any]]) -> Counter[tuple[int, int]]:
    return Counter(line_key(line) for line in lines)


async def test_every_row_ends_exactly_once_over_two_workers(cluster: str) -> None:
    rows = expand_rows(counter_rows(12, delay_s=0.05), 2)
    started = time.monotonic()
    lines = [line async for line in ray_rollouts(rows, configs=[CONFIG], model="replay", workers=2, concurrency=8)]
    elapsed = time.monotonic() - started
    assert keys_of(lines) == keys_of(rows) and max(keys_of(lines).values()) == 1
    assert [line["status"] for line in lines] == ["ok"] * len(rows)
    assert all(line["reward"] == 1.0 for line in lines)
    print(f"ray.init {STARTUP['ray.init']:.1f} s; 2 workers, {len(rows)} rollouts in {elapsed:.1f} s (actors included)")


async def test_workers_reach_a_served_instance_at_its_url(cluster: str) -> None:
    source = importlib.util.spec_from_file_location("slow_counter", Path(CONFIG).with_suffix(".py"))
    assert source is not None and source.loader is not None
    module = importlib.util.module_from_spec(source)
    source.loader.exec_module(module)
    rows = expand_rows(counter_rows(6, delay_s=0.0), 1)
    with serve_in_thread(module.SlowCounter()) as url:
        lines = [line async for line in ray_rollouts(rows, resources_url=url, workers=2, concurrency=4)]
    assert keys_of(lines) == keys_of(rows)
    assert all(line["status"] == "ok" and line["reward"] == 1.0 for line in lines)


async def _run_and_kill(runner: RayRunner, rows: list[dict[str, Any]], max_attempts: int) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []

    async def consume() -> None:
        async for line in rollouts(rows, runner.run, concurrency=8, max_attempts=max_attempts, retry_backoff_s=0.05):
            lines.append(line)

    task = asyncio.create_task(consume())
    while len(lines) < 2:  # rollouts are in flight on both workers
        await asyncio.sleep(0.02)
    ray.kill(runner.actors[0], no_restart=False)  # Ray restarts it; its rollouts in flight die with it
    await asyncio.wait_for(task, 60)
    return lines


def _spec(timeout_s: float = 60.0) -> WorkerSpec:
    return WorkerSpec(model="replay", configs=(CONFIG,), timeout_s=timeout_s, cwd=os.getcwd())


async def test_a_killed_worker_turns_its_rollouts_into_retryable_failures(cluster: str) -> None:
    rows = expand_rows(counter_rows(16, delay_s=0.4), 1)
    async with RayRunner(_spec(), workers=2) as runner:
        lines = await _run_and_kill(runner, rows, max_attempts=1)
    assert keys_of(lines) == keys_of(rows) and max(keys_of(lines).values()) == 1
    failed = [line for line in lines if line["status"] == "failed"]
    assert failed, "the kill landed on no rollout in flight"
    for line in failed:
        assert line["failure"]["stage"] == "agent" and line["failure"]["retryable"] is True
        assert "Ray worker running this rollout died" in line["failure"]["error"]
        assert "reward" not in line
    assert all(line["reward"] == 1.0 for line in lines if line["status"] == "ok")


async def test_a_killed_worker_costs_an_attempt_and_every_row_passes(cluster: str) -> None:
    rows = expand_rows(counter_rows(16, delay_s=0.4), 1)
    async with RayRunner(_spec(), workers=2) as runner:
        lines = await _run_and_kill(runner, rows, max_attempts=3)
    assert keys_of(lines) == keys_of(rows) and max(keys_of(lines).values()) == 1
    assert [line["status"] for line in lines] == ["ok"] * len(rows)


async def test_a_rows_timeout_still_bounds_it_on_a_worker(cluster: str) -> None:
    rows = expand_rows(counter_rows(2, delay_s=30.0), 1)
    started = time.monotonic()
    lines = [line async for line in ray_rollouts(rows, configs=[CONFIG], workers=1, timeout_s=1.0, max_attempts=1)]
    assert time.monotonic() - started < 15  # the worker's start included; the tool alone would take 30 s
    assert keys_of(lines) == keys_of(rows)
    for line in lines:
        assert line["status"] == "failed" and line["failure"]["retryable"] is True
        assert "deadline of 1 s" in line["failure"]["error"]


async def test_a_config_that_does_not_load_on_the_workers_is_a_config_error(cluster: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "broken_resources_server:\n  resources_servers:\n    broken:\n"
        "      entrypoint: missing.py\n      domain: games\n"
    )
    with pytest.raises(ConfigError, match="could not build the environment or the model") as caught:
        async with RayRunner(WorkerSpec(configs=(str(broken),)), workers=1):
            pass
    assert "missing.py" in str(caught.value)


def _collect(cluster: str, tmp_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gymhall", "collect", "--ray", cluster, "--config", CONFIG, "--model", "replay"]
    command += ["-i", str(tmp_path / "rows.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--concurrency", "4", *extra]
    return subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_collect_ray_resumes_after_the_driver_is_killed(cluster: str, tmp_path: Path) -> None:
    rows = counter_rows(24, delay_s=0.3)
    (tmp_path / "rows.jsonl").write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    output = tmp_path / "out.jsonl"
    driver = _collect(cluster, tmp_path)
    deadline = time.monotonic() + 60
    while not (output.exists() and output.read_bytes().count(b"\n") >= 4):
        assert driver.poll() is None, driver.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "no line within 60 s"
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    before = output.read_bytes().count(b"\n")
    assert before < len(rows), "the run finished before the kill: nothing left to resume"

    resumed = _collect(cluster, tmp_path, "--resume")
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr.decode()[-2000:]
    lines = [orjson.loads(line) for line in output.read_bytes().splitlines()]
    assert keys_of(lines) == Counter({(index, 0): 1 for index in range(len(rows))}), f"{before} lines before resume"
    assert all(line["status"] == "ok" and line["reward"] == 1.0 for line in lines)
    assert b"done before" in stdout + stderr


async def test_workers_spread_over_the_nodes(cluster: str) -> None:
    async with RayRunner(_spec(), workers=2) as runner:
        assert len({node for _, node in runner.processes}) == 2
        assert runner.view() == "workers 2/2 on 2 nodes"


async def test_a_lost_node_leaves_every_row_once_and_resume_completes_it(nodes: Cluster, tmp_path: Path) -> None:
    doomed = nodes.add_node(num_cpus=1)
    nodes.wait_for_nodes()
    rows = expand_rows(counter_rows(36, delay_s=0.5), 1)
    output = tmp_path / "out.jsonl"
    console = Console(record=True, width=200, force_terminal=False)
    async with RayRunner(_spec(), workers=3) as runner:
        assert doomed.node_id in {node for _, node in runner.processes}, "no worker on the node to remove"
        progress = Progress(console)
        progress.watch(runner)
        with progress:
            run = asyncio.create_task(collect(rows, output, runner.run, concurrency=12, max_attempts=1))
            while not output.exists() or output.read_bytes().count(b"\n") < 3:
                assert not run.done(), run
                await asyncio.sleep(0.02)
            nodes.remove_node(doomed)  # its raylet and worker processes die, with their rollouts in flight
            first = await asyncio.wait_for(run, 60)
            progress.update({}, first)
        assert runner.view() == "workers 2/3 on 2 nodes"
        assert "workers 2/3 on 2 nodes" in console.export_text()
        before = [orjson.loads(line) for line in output.read_bytes().splitlines()]
        assert keys_of(before) == keys_of(rows) and max(keys_of(before).values()) == 1
        failed = [line for line in before if line["status"] == "failed"]
        assert failed, "the node's removal cost no rollout in flight"
        for line in failed:
            assert line["failure"]["stage"] == "agent" and line["failure"]["retryable"] is True
            assert "Ray worker running this rollout died" in line["failure"]["error"]
        resumed = await collect(rows, output, runner.run, concurrency=12, resume=True, max_attempts=3)

    after = [orjson.loads(line) for line in output.read_bytes().splitlines()]
    newest = latest_lines(after)
    ok_keys = Counter(line_key(line) for line in after if line["status"] == "ok")
    duplicates = sum(count - 1 for count in ok_keys.values())
    lost = len(keys_of(rows).keys() - {line_key(line) for line in newest})
    print(
        f"node kill: {len(rows)} rows; before resume {len(before)} lines ({len(before) - len(failed)} ok, "
        f"{len(failed)} retryable failures); resume ran {resumed.ok + resumed.failed} ({resumed.ok} ok); "
        f"after resume {len(after)} lines, {len(newest)} keys all ok: "
        f"{all(line['status'] == 'ok' for line in newest)}; duplicates {duplicates}, lost {lost}"
    )
    assert resumed.ok == len(failed) and resumed.failed == 0
    assert len(newest) == len(rows) and all(line["status"] == "ok" and line["reward"] == 1.0 for line in newest)
    assert duplicates == 0 and lost == 0


async def test_a_row_that_is_not_json_fails_alone_and_the_worker_stays_up(cluster: str) -> None:
    [good, bad] = expand_rows(counter_rows(2, delay_s=0.0), 1)
    bad["tags"] = {"a set"}  # not JSON: it could not be written to the output either
    async with RayRunner(_spec(), workers=1) as runner:
        line = await runner.run(bad)
        assert line["status"] == "failed" and line["failure"]["retryable"] is False
        assert "not JSON" in line["failure"]["error"]
        assert (await runner.run(good))["status"] == "ok"
        assert runner.view() == "workers 1/1 on 1 node"
