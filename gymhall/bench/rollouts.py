"""`gymhall bench rollouts`: workload E, whole rollouts of the counter environment end to end.

One rollout: model call → one `increment` tool call → model call → verify → close (the fake counter
policy does exactly this and answers instantly, so what is measured is gymhall itself).

The model is, by default, the path users run: the fake OpenAI server (`gymhall.models.fake_openai`) in
a uvicorn process of its own, called over HTTP by `--model http://...`'s backend, every answer
validated. `model_path="inprocess-fake"` puts gymhall's fake model inside the agent's process instead
(no HTTP, no validation of its answers): a labelled option, not the figure to compare.

- **in-process**: agent and environment (called in-process) in one fresh interpreter,
  `python -m gymhall.bench.rollouts_child`, the model server beside it; start-up runs from spawn to the
  first rollout, the rate is the rollouts loop's.
- **http**: resources, model and agent servers as three uvicorn processes on loopback, plus this
  process as the driver posting rows to the agent's `POST /run`.

Each process's CPU during the rollouts and peak RSS are reported. Nothing is pinned: every process
shares the machine's cores, as the workload prescribes. Rates are compared with NeMo Gym 0.4.0's
(`NEMO_GYM_ROLLOUTS_PER_S`), measured the same way on the same machine kind.

The result types are in `gymhall.bench.rollout_results`, the http stack in `gymhall.bench.http_stack`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

import psutil

from gymhall.bench.http_stack import run_http, start_model_server
from gymhall.bench.rollout_results import (
    MODEL_PATHS,
    Mode,
    ModelPath,
    ProcessUsage,
    RolloutsResult,
    rollouts_result,
)
from gymhall.bench.usage import RssSampler, cpu_s

__all__ = ["bench_rollouts", "run_inprocess"]

_CHILD_MODULE = "gymhall.bench.rollouts_child"

_KILL_WAIT_S = 5.0
_STDERR_TAIL_CHARS = 4000


def run_inprocess(
    n: int,
    concurrency: int,
    *,
    mode: Mode = "inprocess",
    model_path: ModelPath = "http",
    timeout_s: float = 300.0,
    profile: Path | None = None,
) -> RolloutsResult:
    """Run N rollouts in a fresh `rollouts_child` interpreter, timed from spawn to exit.

    With `model_path="http"` the model is the fake OpenAI server in a uvicorn process of its own, started
    before the child (as a user's model server is up before `gymhall collect` starts), and the child calls
    it over HTTP; `"inprocess-fake"` keeps the fake model in the child. Start-up is spawn to the first
    rollout; the rate is that of the rollouts loop alone.

    Raises RuntimeError if the model server does not start, or the child fails, prints no result, or
    outlives `timeout_s` (it is killed). `profile` makes the child write cProfile stats of its run there.
    """
    if model_path not in MODEL_PATHS:
        raise ValueError(f"Unknown model path {model_path!r}: use {' or '.join(MODEL_PATHS)}.")
    cmd = [sys.executable, "-m", _CHILD_MODULE, "--n", str(n), "--concurrency", str(concurrency)]
    cmd += ["--timeout-s", str(timeout_s)]
    if profile is not None:
        cmd += ["--profile", str(profile)]
    with ExitStack() as stack:
        model = None
        if model_path == "http":
            model = stack.enter_context(start_model_server())
            cmd += ["--model-url", model.url]
        model_proc = psutil.Process(model.pid) if model is not None else None
        model_cpu_before = cpu_s(model_proc) if model_proc is not None else 0.0
        sampler = stack.enter_context(RssSampler([model_proc] if model_proc is not None else []))
        stdout, popen, wall, spawned = _run_child(cmd, n, timeout_s)
        usages = []
        if model_proc is not None:
            total = cpu_s(model_proc)
            peak = sampler.peak(model_proc.pid)
            usages.append(ProcessUsage("model", model_proc.pid, total - model_cpu_before, total, peak, True))
    report = json.loads(stdout)
    loop_s = float(report["loop_s"])
    usage = ProcessUsage(
        name="in-process",
        pid=popen.pid,
        cpu_s=float(report["loop_cpu_s"]),
        total_cpu_s=float(report["cpu_s"]),
        peak_rss_bytes=int(report["peak_rss_bytes"]),
        server=True,
    )
    startup_s = float(report["ready_monotonic"]) - spawned
    return rollouts_result(
        mode,
        n,
        concurrency,
        report,
        wall_s=wall,
        run_s=loop_s,
        startup_s=startup_s,
        processes=[usage, *usages],
        model_path=model_path,
    )


def _run_child(cmd: list[str], n: int, timeout_s: float) -> tuple[str, subprocess.Popen[bytes], float, float]:
    """Run the child; its last stdout line, the process, its wall time and when (monotonic) it was spawned."""
    spawned = time.monotonic()
    start = time.perf_counter()
    popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = popen.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        popen.kill()
        _, stderr = popen.communicate(timeout=_KILL_WAIT_S)
        raise RuntimeError(f"the in-process run of {n} rollouts did not finish within {timeout_s:g} s") from None
    finally:
        if popen.poll() is None:  # interrupted (Ctrl-C) or the kill's wait expired: never leave it behind
            popen.kill()
            popen.wait(_KILL_WAIT_S)
    wall = time.perf_counter() - start
    lines = stdout.decode("utf-8", "replace").strip().splitlines()
    if popen.returncode != 0 or not lines:
        tail = stderr.decode("utf-8", "replace")[-_STDERR_TAIL_CHARS:]
        raise RuntimeError(f"the in-process run exited with code {popen.returncode}:\n{tail}")
    return lines[-1], popen, wall, spawned


def bench_rollouts(
    *,
    modes: Sequence[str] = ("inprocess", "http"),
    ns: Sequence[int] = (256, 1024),
    concurrency: int = 256,
    inflight: int | None = None,
    model_path: ModelPath = "http",
    timeout_s: float = 300.0,
    progress: Callable[[str], None] = lambda _: None,
) -> list[RolloutsResult]:
    """Each mode at each N (a fresh process or stack per run), or with `inflight`, only the in-flight test:
    `inflight` rollouts in process, all of them at once. `model_path` is where the model runs (see the module)."""
    if concurrency < 1 or any(n < 1 for n in ns) or (inflight is not None and inflight < 1):
        raise ValueError("N, --concurrency and --inflight must be at least 1.")
    unknown = [mode for mode in modes if mode not in ("inprocess", "http")]
    if unknown:
        raise ValueError(f"Unknown mode {unknown[0]!r}: use inprocess or http.")
    if model_path not in MODEL_PATHS:
        raise ValueError(f"Unknown model path {model_path!r}: use {' or '.join(MODEL_PATHS)}.")
    if inflight is not None:
        progress(f"in-flight: {inflight} rollouts at once, in process")
        return [run_inprocess(inflight, inflight, mode="inflight", model_path=model_path, timeout_s=timeout_s)]
    results = []
    for mode in modes:
        for n in ns:
            progress(f"{mode}: N={n} at C={concurrency}")
            if mode == "inprocess":
                results.append(run_inprocess(n, concurrency, model_path=model_path, timeout_s=timeout_s))
            else:
                results.append(run_http(n, concurrency, model_path=model_path, timeout_s=timeout_s))
    return results
