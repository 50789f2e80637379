"""`gymhall bench rollouts`: workload E, whole rollouts of the counter environment end to end.

One rollout: model call → one `increment` tool call → model call → verify → close (the fake counter
policy does exactly this and answers instantly, so what is measured is gymhall itself).

- **in-process**: agent, environment (called in-process) and fake model in one fresh interpreter,
  `python -m gymhall.bench.rollouts_child`; its wall time runs from spawn to exit, start-up included.
- **http**: resources, model and agent servers as three uvicorn processes on loopback, plus this
  process as the driver posting rows to the agent's `POST /run`. Per-process CPU and peak RSS.

Nothing is pinned: every process shares the machine's cores, as the workload prescribes. Rates
are compared with NeMo Gym 0.4.0's best measured figure (89 rollouts/s), so the ratio is conservative.

The result types are in `gymhall.bench.rollout_results`, the http stack in `gymhall.bench.http_stack`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from gymhall.bench.http_stack import run_http
from gymhall.bench.rollout_results import Mode, ProcessUsage, RolloutsResult, rollouts_result

__all__ = ["bench_rollouts", "run_inprocess"]

_CHILD_MODULE = "gymhall.bench.rollouts_child"

_KILL_WAIT_S = 5.0
_STDERR_TAIL_CHARS = 4000


def run_inprocess(
    n: int, concurrency: int, *, mode: Mode = "inprocess", timeout_s: float = 300.0, profile: Path | None = None
) -> RolloutsResult:
    """Run N rollouts in a fresh `rollouts_child` interpreter, timed from spawn to exit.

    Raises RuntimeError if the child fails, prints no result, or outlives `timeout_s` (it is killed).
    `profile` makes the child write cProfile stats of its run there.
    """
    cmd = [sys.executable, "-m", _CHILD_MODULE, "--n", str(n), "--concurrency", str(concurrency)]
    cmd += ["--timeout-s", str(timeout_s)]
    if profile is not None:
        cmd += ["--profile", str(profile)]
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
    report = json.loads(lines[-1])
    loop_s = float(report["loop_s"])
    usage = ProcessUsage(
        name="in-process",
        pid=popen.pid,
        cpu_s=float(report["loop_cpu_s"]),
        total_cpu_s=float(report["cpu_s"]),
        peak_rss_bytes=int(report["peak_rss_bytes"]),
        server=True,
    )
    # Start-up here is everything but the loop: interpreter, imports, building the app, and exit.
    return rollouts_result(
        mode, n, concurrency, report, wall_s=wall, run_s=loop_s, startup_s=wall - loop_s, processes=[usage]
    )


def bench_rollouts(
    *,
    modes: Sequence[str] = ("inprocess", "http"),
    ns: Sequence[int] = (256, 1024),
    concurrency: int = 256,
    inflight: int | None = None,
    timeout_s: float = 300.0,
    progress: Callable[[str], None] = lambda _: None,
) -> list[RolloutsResult]:
    """Each mode at each N (a fresh process or stack per run), or with `inflight`, only the in-flight test:
    `inflight` rollouts in process, all of them at once."""
    if concurrency < 1 or any(n < 1 for n in ns) or (inflight is not None and inflight < 1):
        raise ValueError("N, --concurrency and --inflight must be at least 1.")
    unknown = [mode for mode in modes if mode not in ("inprocess", "http")]
    if unknown:
        raise ValueError(f"Unknown mode {unknown[0]!r}: use inprocess or http.")
    if inflight is not None:
        progress(f"in-flight: {inflight} rollouts at once, in process")
        return [run_inprocess(inflight, inflight, mode="inflight", timeout_s=timeout_s)]
    results = []
    for mode in modes:
        for n in ns:
            progress(f"{mode}: N={n} at C={concurrency}")
            if mode == "inprocess":
                results.append(run_inprocess(n, concurrency, timeout_s=timeout_s))
            else:
                results.append(run_http(n, concurrency, timeout_s=timeout_s))
    return results
