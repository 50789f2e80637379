"""`gymhall bench rollouts --ray`: workload E on a local Ray cluster, against the same rollouts in one process.

    python -m gymhall.bench.ray_rollouts --n 4000 --workers 1,2 --in-flight 16000

The rollouts are workload E's (the counter: model call, one `increment`, model call, verify), with the
environment built in-process on each Ray worker from a config (`gymhall.bench.counters`), as
`gymhall collect --ray --config ...` builds it. The model is, by default, the fake OpenAI server in a
uvicorn process of its own, reached over HTTP (`model_path="http"`), or gymhall's fake model inside
each worker (`"inprocess-fake"`: what is left is gymhall and Ray alone).

In one session, each figure with the same model path:

- **one process**: `collect` with `Agent.run` in this process (no Ray), the path `--ray` must not slow.
- **Ray, W workers**: a fresh local cluster (`address="local"`, never another's), `collect` over a
  `RayRunner` writing the same file, as `collect --ray` does. CPU per rollout is the driver's and the
  workers'; Ray's own processes (raylet, GCS, ...) are counted apart. The driver's CPU per line is
  what bounds one driver: 1e6 / (us per line) rollouts/s, whatever the cluster's size.
- **in flight**: N rollouts all in flight at once (`concurrency = N`) over the largest worker count:
  errors, and the peak RSS of the driver and of each worker.

Start-up is split as `RayRunner.startup_s` measures it (the cluster, the workers' spawn, imports and
environment build), then the first rollout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from gymhall.bench.rollout_results import MODEL_PATHS, ModelPath
from gymhall.bench.rollouts_child import ROW, LineTally
from gymhall.bench.usage import RssSampler, cpu_s

__all__ = ["RayBenchResult", "RayRun", "bench_ray_rollouts", "format_report", "main"]

_CONFIG = """bench_counter_resources_server:
  resources_servers:
    counter:
      entrypoint: gymhall.bench.counters:CounterEnvironment
      domain: games
      max_sessions: 1000000
"""
_WARMUP = 64  # rollouts before each measured run: connections, caches, the first model call
_MAX_CONNECTIONS = 256  # each agent's HTTP connections to the model (rows beyond them wait their turn)


@dataclass
class RayRun:
    """One measured run: `workers` 0 is the single process (no Ray)."""

    label: str
    workers: int
    n: int
    concurrency: int
    ok: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    driver_cpu_s: float = 0.0
    workers_cpu_s: float = 0.0
    ray_system_cpu_s: float = 0.0  # raylet, GCS and the other processes of the local cluster
    model_cpu_s: float = 0.0  # the fake OpenAI server's process (model path http)
    line_bytes: float = 0.0  # a line's mean size: the driver's cost per line grows with it (parse, write)
    driver_peak_rss: int = 0
    worker_peak_rss: list[int] = field(default_factory=list)
    startup_s: dict[str, float] = field(default_factory=dict)

    @property
    def rollouts_per_s(self) -> float:
        return self.n / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_us_per_rollout(self) -> float:
        """Driver and workers (the single process: itself), per rollout; Ray's own processes apart."""
        return (self.driver_cpu_s + self.workers_cpu_s) / self.n * 1e6

    @property
    def driver_us_per_line(self) -> float:
        return self.driver_cpu_s / self.n * 1e6


@dataclass
class RayBenchResult:
    model_path: ModelPath
    runs: list[RayRun]
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the machine's, at the end: others share its cores

    def to_json(self) -> dict[str, Any]:
        runs = []
        for run in self.runs:
            figures = asdict(run)
            figures.update(
                rollouts_per_s=run.rollouts_per_s,
                cpu_us_per_rollout=run.cpu_us_per_rollout,
                driver_us_per_line=run.driver_us_per_line,
            )
            runs.append(figures)
        return {"model_path": self.model_path, "load_average": self.load_average, "runs": runs}


async def _single(spec: Any, rows: list[dict[str, Any]], concurrency: int, output: Path, model: int) -> RayRun:
    from gymhall.collection.agent import Agent
    from gymhall.collection.pool import collect
    from gymhall.collection.runs import resources_client
    from gymhall.models.spec_strings import model_from_spec

    resources = resources_client(
        configs=spec.configs, overrides=(), name=None, url=None, max_connections=spec.max_connections
    )
    agent = Agent(resources, model_from_spec(spec.model), timeout_s=spec.timeout_s)
    run = RayRun("one process", 0, len(rows), concurrency)
    try:
        await collect(rows[:_WARMUP], output.with_suffix(".warm"), agent.run, concurrency=concurrency, overwrite=True)
        gc.freeze()  # as the Ray driver does after its start: the same collector work on both sides
        await _measured(run, rows, output, agent.run, concurrency, [], model)
    finally:
        await resources.aclose()
        await agent.model.aclose()
    return run


async def _on_ray(
    spec: Any,
    rows: list[dict[str, Any]],
    workers: int,
    concurrency: int,
    output: Path,
    model: int,
    profile: Path | None = None,
) -> RayRun:
    from gymhall.collection.pool import collect
    from gymhall.scale.runner import RayRunner

    label = f"Ray, {workers} worker{'s' if workers != 1 else ''}" + (
        " (all in flight)" if concurrency >= len(rows) else ""
    )
    run = RayRun(label, workers, len(rows), concurrency)
    started = time.monotonic()
    async with RayRunner(spec, workers=workers, address="local") as runner:
        run.startup_s = dict(runner.startup_s)
        first = time.monotonic()
        await runner.run(rows[0])
        run.startup_s["first rollout"] = time.monotonic() - first
        run.startup_s["total"] = time.monotonic() - started
        gc.freeze()  # as `ray_runner_factory` does for `collect --ray`
        await collect(rows[:_WARMUP], output.with_suffix(".warm"), runner.run, concurrency=concurrency, overwrite=True)
        pids = [pid for pid, _ in runner.processes]
        profiler = None
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        await _measured(run, rows, output, runner.run, concurrency, pids, model)
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
    return run


async def _measured(
    run: RayRun,
    rows: list[dict[str, Any]],
    output: Path,
    runner: Any,
    concurrency: int,
    worker_pids: list[int],
    model: int,
) -> None:
    """`collect` the rows with `runner`, measuring this process, the workers, the model server (pid `model`, 0:
    none) and the other processes this one started (the local Ray cluster's)."""
    from gymhall.collection.pool import collect

    driver = psutil.Process()
    workers = [psutil.Process(pid) for pid in worker_pids]
    models = [psutil.Process(model), *psutil.Process(model).children(recursive=True)] if model else []
    apart = {*worker_pids, *(process.pid for process in models)}
    others = [child for child in driver.children(recursive=True) if child.pid not in apart]
    model_before = sum(map(_cpu_or_zero, models))
    # The driver's own clock (every thread, ns); the kernel's ticks (10 ms) for the other processes.
    before = (time.process_time(), sum(map(cpu_s, workers)), sum(map(_cpu_or_zero, others)))
    tally = LineTally()
    with RssSampler([driver, *workers]) as rss:
        started = time.perf_counter()
        await collect(rows, output, runner, concurrency=concurrency, max_attempts=1, overwrite=True)
        run.wall_s = time.perf_counter() - started
    run.driver_cpu_s = time.process_time() - before[0]
    run.workers_cpu_s = sum(map(cpu_s, workers)) - before[1]
    run.ray_system_cpu_s = sum(map(_cpu_or_zero, others)) - before[2]
    run.model_cpu_s = sum(map(_cpu_or_zero, models)) - model_before
    run.driver_peak_rss = rss.peak(driver.pid)
    run.worker_peak_rss = [rss.peak(worker.pid) for worker in workers]
    data = output.read_bytes()
    run.line_bytes = len(data) / max(run.n, 1)
    for line in data.splitlines():
        tally.add(json.loads(line))
    run.ok, run.errors, run.error_samples = tally.ok, tally.errors + tally.wrong, tally.samples


def _cpu_or_zero(process: psutil.Process) -> float:
    try:
        return cpu_s(process)
    except psutil.Error:
        return 0.0  # exited: its CPU is no longer counted on either side


def bench_ray_rollouts(
    n: int = 4000,
    concurrency: int = 256,
    *,
    workers: Sequence[int] = (1, 2),
    in_flight: int = 16_000,
    model_path: ModelPath = "http",
    timeout_s: float = 600.0,
    profile: Path | None = None,
) -> RayBenchResult:
    """Run the single process, then each worker count, then `in_flight` rollouts at once (0: skipped).

    `profile`: cProfile stats of the driver during the last worker count's run are written there.
    """
    import uvloop

    from gymhall.collection.datasets import expand_rows
    from gymhall.scale import WorkerSpec

    if model_path not in MODEL_PATHS:
        raise ValueError(f"Unknown model path {model_path!r}: use {' or '.join(MODEL_PATHS)}.")
    runs: list[RayRun] = []
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gymhall-ray-bench-")))
        (folder / "counter.yaml").write_text(_CONFIG)
        model, model_pid = "fake:counter", 0
        if model_path == "http":
            from gymhall.bench.http_stack import start_model_server

            server = stack.enter_context(start_model_server())
            model, model_pid = f"{server.url.rstrip('/')}/v1#fake-model", server.pid
        config = str(folder / "counter.yaml")
        spec = WorkerSpec(model=model, configs=(config,), timeout_s=timeout_s, max_connections=_MAX_CONNECTIONS)
        rows = expand_rows(dict(ROW) for _ in range(max(n, in_flight)))
        output = folder / "rollouts.jsonl"
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as loop:
            runs.append(loop.run(_single(spec, rows[:n], concurrency, output, model_pid)))
            for count in workers:
                last = profile if count == workers[-1] else None
                runs.append(loop.run(_on_ray(spec, rows[:n], count, concurrency, output, model_pid, last)))
            if in_flight:
                runs.append(loop.run(_on_ray(spec, rows[:in_flight], max(workers), in_flight, output, model_pid)))
    return RayBenchResult(model_path, runs, os.getloadavg())


def format_report(result: RayBenchResult) -> list[str]:
    """A Markdown table of the runs, then each Ray run's start-up."""
    single = result.runs[0]
    lines = [
        f"model: {result.model_path}; a line {result.runs[0].line_bytes:,.0f} bytes; "
        f"load average at the end {' '.join(f'{x:.1f}' for x in result.load_average)}",
        "",
        "| run | rollouts | in flight | ok | errors | rollouts/s | CPU us/rollout (vs one process) "
        "| driver us/line | Ray's processes us/rollout | model server us/rollout | peak RSS driver / workers (MiB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in result.runs:
        ratio = run.cpu_us_per_rollout / single.cpu_us_per_rollout if single.cpu_us_per_rollout else 0.0
        workers_rss = " / ".join(f"{rss / 2**20:.0f}" for rss in run.worker_peak_rss) or "-"
        lines.append(
            f"| {run.label} | {run.n} | {run.concurrency} | {run.ok} | {run.errors} | {run.rollouts_per_s:,.0f} "
            f"| {run.cpu_us_per_rollout:,.0f} ({ratio:.2f}x) | {run.driver_us_per_line:,.1f} "
            f"| {run.ray_system_cpu_s / run.n * 1e6:,.1f} | {run.model_cpu_s / run.n * 1e6:,.0f} "
            f"| {run.driver_peak_rss / 2**20:.0f} / {workers_rss} |"
        )
    for run in result.runs[1:]:
        parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in run.startup_s.items())
        lines.append(f"start-up, {run.label}: {parts}")
    for run in result.runs:
        for sample in run.error_samples:
            lines.append(f"error, {run.label}: {sample}")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark, print the table, and write the JSON where `--json` says."""
    parser = argparse.ArgumentParser(prog="python -m gymhall.bench.ray_rollouts", description=__doc__)
    parser.add_argument("--n", type=int, default=4000, help="rollouts per measured run")
    parser.add_argument("--concurrency", type=int, default=256, help="rollouts in flight in the measured runs")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--in-flight", type=int, default=16_000, help="rollouts all in flight at once (0: skip)")
    parser.add_argument("--model-path", choices=MODEL_PATHS, default="http")
    parser.add_argument("--json", type=Path, help="write the figures there as JSON")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the driver (last worker count) there")
    args = parser.parse_args(argv)
    workers = [int(count) for count in args.workers.split(",") if count.strip()]
    result = bench_ray_rollouts(
        args.n,
        args.concurrency,
        workers=workers,
        in_flight=args.in_flight,
        model_path=args.model_path,
        profile=args.profile,
    )
    print("\n".join(format_report(result)), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(result.to_json(), indent=2))


if __name__ == "__main__":
    main()
