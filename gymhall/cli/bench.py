"""The `gymhall bench` commands: workload R (`resources`) and workload E (`rollouts`), and their tables.

`gymhall.bench` measures and saves the results; the tables are printed here, with rich.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gymhall.bench.rollout_results import NEMO_GYM_ROLLOUTS_PER_S
from gymhall.cli.errors import fail

if TYPE_CHECKING:
    from rich.console import Console

    from gymhall.bench.resources import BenchRow
    from gymhall.bench.rollout_results import RolloutsResult

__all__ = ["app", "print_resources_report", "print_rollouts_report"]

app = typer.Typer(
    help="Benchmark gymhall servers: throughput and latency under load.",
    no_args_is_help=True,
)

_BENCH_RESOURCES_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall bench resources                       gymhall's counters (both styles) vs bare Starlette\n"
    "  gymhall bench resources -c 64 -c 256 --rounds 3 --duration 10\n"
    "  gymhall bench resources http://127.0.0.1:8000 --pid 4242 --baseline"
)


@app.command(
    "resources",
    epilog=_BENCH_RESOURCES_EPILOG,
    help=(
        "Load-test a resources server with workload R: C concurrent episodes, each seed_session, K calls of "
        "the increment tool, verify and close_session. Prints episodes/s, requests/s, p50/p99 latency, errors "
        "and server RSS. Without URL, runs gymhall's counter environment in both styles and, with --baseline "
        "(the default then), a bare Starlette app serving the same counter, printing each one's ratio to it. "
        "Servers run pinned to CPU 0 and the load generator to CPU 1. Loopback URLs only."
    ),
)
def bench_resources_command(
    url: Annotated[str | None, typer.Argument(help="A running resources server serving the counter tool.")] = None,
    concurrency: Annotated[
        list[int] | None, typer.Option("--concurrency", "-c", help="Concurrent episodes (repeatable).")
    ] = None,
    tool_calls: Annotated[int, typer.Option("--tool-calls", "-k", help="Tool calls per episode.")] = 8,
    duration: Annotated[float, typer.Option(help="Seconds per measurement (1 s warm-up included).")] = 10.0,
    rounds: Annotated[int, typer.Option(help="Rounds; the best round of each target counts.")] = 1,
    episodes: Annotated[int, typer.Option(help="Stop after this many episodes per measurement.")] = 10**9,
    pid: Annotated[int | None, typer.Option(help="PID of the server at URL, to report its RSS.")] = None,
    baseline: Annotated[
        bool | None, typer.Option("--baseline/--no-baseline", help="Also run the bare Starlette floor.")
    ] = None,
    style: Annotated[
        list[str] | None,
        typer.Option(help="Built-in counter styles to run without URL: seed, short (repeatable)."),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the results to this JSON file.")] = None,
) -> None:
    from gymhall.bench.report import write_json
    from gymhall.bench.resources import BASELINE, bench_resources

    styles = style or (["seed", "short"] if url is None else [])
    bad = [s for s in styles if s not in ("seed", "short")]
    if bad:
        fail(f"unknown --style {bad[0]!r}; choose seed or short.")
    targets = [f"gymhall-{s}-style" for s in styles]
    if baseline if baseline is not None else url is None:
        targets.insert(0, BASELINE)
    try:
        rows = bench_resources(
            targets=targets,
            concurrencies=concurrency or [64, 256],
            url=url,
            pid=pid,
            tool_calls=tool_calls,
            duration_s=duration,
            rounds=rounds,
            episodes=episodes,
            progress=lambda line: typer.echo(line, err=True),
        )
    except ValueError as exc:
        fail(str(exc))
    print_resources_report(rows, tool_calls=tool_calls)
    if json_out is not None:
        write_json(rows, json_out)


_BENCH_ROLLOUTS_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall bench rollouts                        both modes, N=256 and N=1024 at C=256\n"
    "  gymhall bench rollouts --mode http -n 1024 -c 64 --json e.json\n"
    "  gymhall bench rollouts --inflight 4000        4,000 rollouts in flight at once, in process\n"
    "  gymhall bench rollouts --model-path inprocess-fake   the fake model inside the agent (no HTTP)\n"
    "  gymhall bench rollouts --ray                  on a local Ray cluster: 1 and 2 workers, then 16,000 in flight"
)


@app.command(
    "rollouts",
    epilog=_BENCH_ROLLOUTS_EPILOG,
    help=(
        "Time whole rollouts (workload E): N tasks of the counter environment, each model call, one tool call, "
        "model call, verify, with a fake model answering instantly. By default the model is the path users "
        "run: a fake OpenAI-compatible server in its own process, called over HTTP by the --model http://... "
        "backend (--model-path inprocess-fake puts gymhall's fake model inside the agent instead: no HTTP). "
        "In-process mode runs agent and environment in one fresh interpreter; http mode runs agent, resources "
        "and model servers as separate processes with this process posting rows to the agent. Prints the "
        "rollouts loop's rate and its ratio to NeMo Gym 0.4.0's 44.5/s, start-up (spawn to first rollout), "
        "wall time, CPU per rollout and peak RSS per process, and errors. Nothing is pinned. --inflight N "
        "instead runs N rollouts at once, in process."
    ),
)
def bench_rollouts_command(
    mode: Annotated[str, typer.Option(help="inprocess, http or both.")] = "both",
    rollouts: Annotated[
        list[int] | None,
        typer.Option("-n", "--rollouts", help="Rollouts (tasks) per run (repeatable). Default: 256 and 1024.", min=1),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", help="Rollouts in flight at once.", min=1)] = 256,
    inflight: Annotated[
        int | None, typer.Option(help="Instead: run this many rollouts all at once, in process.", min=1)
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds a run may take before it is stopped.", min=1)] = 300.0,
    model_path: Annotated[
        str,
        typer.Option(
            "--model-path",
            help="http: a fake OpenAI server in its own process, over HTTP (the path users run); "
            "inprocess-fake: gymhall's fake model inside the agent's process.",
        ),
    ] = "http",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the results to this JSON file.")] = None,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="Instead: the same rollouts on a fresh local Ray cluster (ray extra) with each --workers count, "
            "against one process in the same session, then --inflight (default 16,000) all at once over the "
            "most workers: rollouts/s, CPU per rollout, the driver's CPU per line, peak RSS, start-up. "
            "-n is the rollouts per run (default 4,000).",
        ),
    ] = False,
    workers: Annotated[str, typer.Option(help="With --ray: the worker counts, comma-separated.")] = "1,2",
) -> None:
    from gymhall.bench.report import write_rollouts_json
    from gymhall.bench.rollouts import bench_rollouts

    if mode not in ("inprocess", "http", "both"):
        fail(f"unknown --mode {mode!r}; choose inprocess, http or both.")
    if model_path not in ("http", "inprocess-fake"):
        fail(f"unknown --model-path {model_path!r}; choose http or inprocess-fake.")
    if ray:
        import json

        from gymhall.bench.ray_rollouts import bench_ray_rollouts, format_report

        try:
            counts = [int(count) for count in workers.split(",") if count.strip()]
        except ValueError:
            fail(f"--workers takes worker counts separated by commas (1,2), not {workers!r}.")
        if not counts or min(counts) < 1:
            fail(f"--workers takes worker counts of at least 1 (1,2), not {workers!r}.")
        result = bench_ray_rollouts(
            (rollouts or [4000])[0],
            concurrency,
            workers=counts,
            in_flight=16_000 if inflight is None else inflight,
            model_path="http" if model_path == "http" else "inprocess-fake",
        )
        typer.echo("\n".join(format_report(result)))
        if json_out is not None:
            json_out.write_text(json.dumps(result.to_json(), indent=2))
        return
    try:
        results = bench_rollouts(
            modes=("inprocess", "http") if mode == "both" else (mode,),
            ns=rollouts or [256, 1024],
            concurrency=concurrency,
            inflight=inflight,
            model_path="http" if model_path == "http" else "inprocess-fake",
            timeout_s=timeout,
            progress=lambda line: typer.echo(line, err=True),
        )
    except (ValueError, RuntimeError) as exc:
        fail(str(exc))
    print_rollouts_report(results)
    if json_out is not None:
        write_rollouts_json(results, json_out)


# --- the tables -----------------------------------------------------------------------------------


def print_resources_report(rows: list[BenchRow], *, tool_calls: int, console: Console | None = None) -> None:
    """A table of every row: rates, latency percentiles, errors, server RSS and the ratio to the floor."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"workload R: seed, {tool_calls} x increment, verify, close per episode")
    for column in ("target", "C", "episodes/s", "requests/s", "p50 ms", "p99 ms", "errors", "RSS MB", "vs floor"):
        table.add_column(column, justify="left" if column == "target" else "right")
    for row in rows:
        r = row.result
        errors = f"{r.errors}" + (f" ({r.wrong_rewards} wrong)" if r.wrong_rewards else "")
        table.add_row(
            row.target,
            str(row.concurrency),
            f"{r.episodes_per_s:,.0f}",
            f"{r.requests_per_s:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            errors,
            f"{row.rss_bytes / 2**20:.1f}" if row.rss_bytes is not None else "-",
            f"{row.ratio:.0%}" if row.ratio is not None else "-",
        )
    (console or Console(width=max(120, Console().width))).print(table)
    for row in rows:
        for sample in row.result.error_samples[:2]:
            (console or Console(stderr=True)).print(f"[yellow]{row.target} C={row.concurrency} error:[/] {sample}")


_TITLES = {
    "inprocess": "workload E, in-process: agent and environment in one fresh interpreter",
    "http": "workload E, http: agent, resources and model servers + driver, separate processes",
    "inflight": "workload E, in-flight: every rollout at once, in process",
}
_MODEL_TITLES = {
    "http": "; model: fake OpenAI server over HTTP, own process",
    "inprocess-fake": "; model: IN-PROCESS FAKE (no HTTP, answers not validated)",
}

_CAPTION = (
    f"vs NeMo Gym: against NeMo Gym 0.4.0's {NEMO_GYM_ROLLOUTS_PER_S:g} rollouts/s (N=1024, the same fake "
    "model over HTTP, same machine kind). rollouts/s: the rollouts loop alone; start-up: spawn (in process) "
    "or server start (http) to the first rollout. CPU ms: CPU per rollout during the run; RSS MB: peak "
    "resident memory; stack: the servers' sum."
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
        table = Table(title=_TITLES[mode] + _MODEL_TITLES[rows[0].model_path], caption=_CAPTION)
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
