"""`gymhall bench rollouts`: workload E, whole rollouts of the counter environment end to end.

One rollout: model call → one `increment` tool call → model call → verify → close (the fake counter
policy does exactly this and answers instantly, so what is measured is gymhall itself).

- **in-process**: agent, environment (called in-process) and fake model in one fresh interpreter,
  `python -m gymhall.bench.rollouts_child`; its wall time runs from spawn to exit, start-up included.
- **http**: resources, model and agent servers as three uvicorn processes on loopback, plus this
  process as the driver posting rows to the agent's `POST /run`. Per-process CPU and peak RSS.

Nothing is pinned: every process shares the machine's cores, as the workload prescribes. Rates
are compared with NeMo Gym 0.4.0's best measured figure (89 rollouts/s), so the ratio is conservative.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import psutil
    from rich.console import Console
    from starlette.applications import Starlette

    from gymhall.bench.process import ServerProcess
    from gymhall.models.fake_openai import FakeOpenAI

__all__ = [
    "NEMO_GYM_ROLLOUTS_PER_S",
    "Mode",
    "ProcessUsage",
    "RolloutsResult",
    "agent_app_from_env",
    "bench_rollouts",
    "fake_model_app",
    "print_rollouts_report",
    "run_http",
    "run_inprocess",
    "write_rollouts_json",
]

NEMO_GYM_ROLLOUTS_PER_S = 89.0
"""NeMo Gym 0.4.0 on workload E: 65-89 rollouts/s; the better figure keeps our ratio conservative."""

Mode = Literal["inprocess", "http", "inflight"]

# Environment of the agent server's process only: where its resources server and model are.
ENV_RESOURCES_URL = "GYMHALL_BENCH_RESOURCES_URL"
ENV_MODEL_URL = "GYMHALL_BENCH_MODEL_URL"
ENV_MAX_CONNECTIONS = "GYMHALL_BENCH_MAX_CONNECTIONS"
ENV_TIMEOUT_S = "GYMHALL_BENCH_TIMEOUT_S"

_RESOURCES_APP = "gymhall.bench.counters:short_style_app"
_MODEL_APP = "gymhall.bench.rollouts:fake_model_app"
_AGENT_APP = "gymhall.bench.rollouts:agent_app_from_env"
_CHILD_MODULE = "gymhall.bench.rollouts_child"

_KILL_WAIT_S = 5.0
_RSS_SAMPLE_INTERVAL_S = 0.02
_STDERR_TAIL_CHARS = 4000


@dataclass(frozen=True)
class ProcessUsage:
    """One process of a run: CPU seconds during the rollouts, CPU over its whole life, and peak RSS."""

    name: str
    pid: int
    cpu_s: float
    total_cpu_s: float
    peak_rss_bytes: int
    server: bool  # part of the served stack (not the driver)


@dataclass(frozen=True)
class RolloutsResult:
    """One measured run of N rollouts at concurrency C.

    `run_s` is the rollouts alone (first row started to last line received); `wall_s` adds start-up:
    for in-process, spawn to exit of the child; for http, starting the servers to the last line.
    `rollouts_per_s` is `n / run_s`; `stack_rss_bytes` sums the served processes' peaks.
    """

    mode: Mode
    n: int
    concurrency: int
    ok: int
    errors: int
    wrong_rewards: int
    wall_s: float
    run_s: float
    startup_s: float
    rollouts_per_s: float
    vs_nemo_gym: float
    stack_rss_bytes: int
    processes: list[ProcessUsage]
    error_samples: list[str] = field(default_factory=list)


def _result(
    mode: Mode,
    n: int,
    concurrency: int,
    counts: dict[str, Any],
    *,
    wall_s: float,
    run_s: float,
    startup_s: float,
    processes: list[ProcessUsage],
) -> RolloutsResult:
    rate = n / run_s if run_s > 0 else 0.0
    return RolloutsResult(
        mode=mode,
        n=n,
        concurrency=concurrency,
        ok=int(counts["ok"]),
        errors=int(counts["errors"]),
        wrong_rewards=int(counts["wrong_rewards"]),
        wall_s=wall_s,
        run_s=run_s,
        startup_s=startup_s,
        rollouts_per_s=rate,
        vs_nemo_gym=rate / NEMO_GYM_ROLLOUTS_PER_S,
        stack_rss_bytes=sum(p.peak_rss_bytes for p in processes if p.server),
        processes=processes,
        error_samples=list(counts["error_samples"]),
    )


# --- in-process ---------------------------------------------------------------------------------


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
    return _result(mode, n, concurrency, report, wall_s=wall, run_s=loop_s, startup_s=wall - loop_s, processes=[usage])


# --- http: the servers' app factories (imported by uvicorn in the children) ------------------------


def fake_model_app() -> FakeOpenAI:
    """The fake OpenAI server with the counter policy (an ASGI app), for `uvicorn --factory`."""
    from gymhall.models.fake_openai import FakeOpenAI, counter_policy

    return FakeOpenAI(counter_policy())


def agent_app_from_env() -> Starlette:
    """The agent server for `uvicorn --factory`, wired to the resources and model URLs in its environment."""
    from gymhall.client.resources import AsyncResourcesClient
    from gymhall.models.registry import model_from_spec
    from gymhall.rollouts.agent import Agent
    from gymhall.rollouts.agent_server import build_agent_app

    resources_url = os.environ[ENV_RESOURCES_URL]
    model_url = os.environ[ENV_MODEL_URL]
    max_connections = int(os.environ.get(ENV_MAX_CONNECTIONS, "256"))
    timeout_s = float(os.environ.get(ENV_TIMEOUT_S, "300"))
    resources = AsyncResourcesClient(resources_url, max_connections=max_connections, timeout=timeout_s)
    model = model_from_spec(f"{model_url.rstrip('/')}/v1#fake-model")
    return build_agent_app(Agent(resources, model, timeout_s=timeout_s))


# --- http: running it ----------------------------------------------------------------------------


def _vm_hwm_bytes(pid: int) -> int:
    """The kernel's record of a process's peak RSS (Linux `VmHWM`), or 0 where unavailable."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _RssSampler:
    """Samples the RSS of some processes every 20 ms in a thread; `peak(pid)` adds the kernel's VmHWM."""

    def __init__(self, processes: Iterable[psutil.Process]) -> None:
        self._processes = list(processes)
        self._peaks = {p.pid: 0 for p in self._processes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gymhall-bench-rss", daemon=True)

    def _loop(self) -> None:
        import psutil

        while not self._stop.wait(_RSS_SAMPLE_INTERVAL_S):
            for proc in self._processes:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue  # exited: its last sample stands
                if rss > self._peaks[proc.pid]:
                    self._peaks[proc.pid] = rss

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(_KILL_WAIT_S)

    def peak(self, pid: int) -> int:
        return max(self._peaks.get(pid, 0), _vm_hwm_bytes(pid))


def _cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


async def _drive(agent_url: str, n: int, concurrency: int, timeout_s: float) -> dict[str, Any]:
    """Post N rows to the agent's `/run`, C at a time; count ok lines, failures and wrong rewards."""
    from gymhall.bench.rollouts_child import ROW, LineTally
    from gymhall.rollouts.agent import RemoteAgent
    from gymhall.rollouts.datasets import expand_rows
    from gymhall.rollouts.pool import rollouts

    agent = RemoteAgent(agent_url, timeout_s=timeout_s, max_connections=concurrency)
    rows = expand_rows(ROW for _ in range(n))
    tally = LineTally()
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            # max_attempts=1: a failure must show up as an error here, not be hidden by a retry.
            async for line in rollouts(rows, agent.run, concurrency=concurrency, max_attempts=1):
                tally.add(line)
    except TimeoutError:
        raise RuntimeError(f"the http run of {n} rollouts did not finish within {timeout_s:g} s") from None
    finally:
        run_s = time.perf_counter() - start
        await agent.aclose()
    return {
        "ok": tally.ok,
        "errors": tally.errors,
        "wrong_rewards": tally.wrong,
        "error_samples": tally.samples,
        "run_s": run_s,
    }


def _start_stack(stack: ExitStack, concurrency: int, timeout_s: float) -> dict[str, ServerProcess]:
    """Start resources and model servers together, then the agent server pointing at both."""
    from gymhall.bench.process import start_server

    def start(app: str, env: dict[str, str] | None = None) -> ServerProcess:
        return start_server(app, factory=True, env=env, ready_timeout_s=60.0)

    servers: dict[str, ServerProcess] = {}
    with ThreadPoolExecutor(2) as pool:
        futures = {"resources": pool.submit(start, _RESOURCES_APP), "model": pool.submit(start, _MODEL_APP)}
        failure: BaseException | None = None
        for name, future in futures.items():
            try:
                servers[name] = stack.enter_context(future.result())
            except BaseException as exc:  # the other may have started: it is stopped by the stack
                failure = failure or exc
        if failure is not None:
            raise failure
    env = {
        ENV_RESOURCES_URL: servers["resources"].url,
        ENV_MODEL_URL: servers["model"].url,
        ENV_MAX_CONNECTIONS: str(concurrency),
        ENV_TIMEOUT_S: str(timeout_s),
    }
    servers["agent"] = stack.enter_context(start(_AGENT_APP, env))
    return {name: servers[name] for name in ("agent", "resources", "model")}


def run_http(n: int, concurrency: int, *, timeout_s: float = 300.0) -> RolloutsResult:
    """Run N rollouts through a fresh agent + resources + model stack of uvicorn processes; stop it after.

    Raises RuntimeError if a server does not start or the run outlives `timeout_s`.
    """
    import psutil
    import uvloop

    start = time.perf_counter()
    with ExitStack() as stack:
        servers = _start_stack(stack, concurrency, timeout_s)
        startup_s = time.perf_counter() - start
        procs = {name: psutil.Process(server.pid) for name, server in servers.items()}
        cpu_before = {name: _cpu_s(proc) for name, proc in procs.items()}
        driver_cpu_before = time.thread_time()  # the loop's thread: the RSS sampler's CPU is not the driver's
        with _RssSampler(procs.values()) as sampler, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            counts = runner.run(_drive(servers["agent"].url, n, concurrency, timeout_s))
        driver_cpu = time.thread_time() - driver_cpu_before
        wall = time.perf_counter() - start
        usages = []
        for name, proc in procs.items():
            total = _cpu_s(proc)
            usages.append(ProcessUsage(name, proc.pid, total - cpu_before[name], total, sampler.peak(proc.pid), True))
    driver_total = time.process_time()
    driver_rss = _vm_hwm_bytes(os.getpid()) or psutil.Process().memory_info().rss
    usages.append(ProcessUsage("driver", os.getpid(), driver_cpu, driver_total, driver_rss, False))
    run_s = float(counts["run_s"])
    return _result("http", n, concurrency, counts, wall_s=wall, run_s=run_s, startup_s=startup_s, processes=usages)


# --- both ------------------------------------------------------------------------------------------


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


# --- report ----------------------------------------------------------------------------------------

_TITLES = {
    "inprocess": "workload E, in-process: agent, environment and fake model in one fresh interpreter",
    "http": "workload E, http: agent, resources and model servers + driver, separate processes",
    "inflight": "workload E, in-flight: every rollout at once, in process",
}

_CAPTION = (
    f"vs NeMo Gym: against {NEMO_GYM_ROLLOUTS_PER_S:g} rollouts/s, the better of NeMo Gym 0.4.0's 65-89. "
    "CPU ms: CPU per rollout during the run; RSS MB: peak resident memory; stack: the servers' sum. "
    "In process, start-up is everything but the rollouts loop (interpreter, imports, exit)."
)


def print_rollouts_report(results: Sequence[RolloutsResult], console: Console | None = None) -> None:
    """One table per mode: rate and its ratio to NeMo Gym, wall and start-up, CPU and peak RSS per process."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=max(180, Console().width))
    for mode in ("inprocess", "http", "inflight"):
        rows = [r for r in results if r.mode == mode]
        if not rows:
            continue
        names = [p.name for p in rows[0].processes]
        servers = [p.name for p in rows[0].processes if p.server]
        table = Table(title=_TITLES[mode], caption=_CAPTION)
        columns = ["N", "C", "rollouts/s", "vs NeMo\nGym", "wall s", "start-up\ns"]
        columns += [f"CPU ms\n{name}" for name in names]
        if len(servers) > 1:
            columns.append("CPU ms\nservers")
        columns += [f"RSS MB\n{name}" for name in names]
        if len(servers) > 1:
            columns.append("RSS MB\nstack")
        columns.append("errors")
        for column in columns:
            table.add_column(column, justify="right")
        for r in rows:
            per = {p.name: p for p in r.processes}
            cells = [str(r.n), str(r.concurrency), f"{r.rollouts_per_s:,.0f}", f"{r.vs_nemo_gym:.1f}x"]
            cells += [f"{r.wall_s:.2f}", f"{r.startup_s:.2f}"]
            cells += [f"{per[name].cpu_s / r.n * 1000:.2f}" for name in names]
            if len(servers) > 1:
                cells.append(f"{sum(per[name].cpu_s for name in servers) / r.n * 1000:.2f}")
            cells += [f"{per[name].peak_rss_bytes / 2**20:.0f}" for name in names]
            if len(servers) > 1:
                cells.append(f"{r.stack_rss_bytes / 2**20:.0f}")
            cells.append(f"{r.errors}" + (f" ({r.wrong_rewards} wrong)" if r.wrong_rewards else ""))
            table.add_row(*cells)
        console.print(table)
        for r in rows:
            for sample in r.error_samples:
                console.print(f"[yellow]{mode} N={r.n} error:[/] {sample}")


def write_rollouts_json(results: Sequence[RolloutsResult], path: Path) -> None:
    """Save the results with the machine they ran on."""
    data = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "nemo_gym_rollouts_per_s": NEMO_GYM_ROLLOUTS_PER_S,
        "results": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
