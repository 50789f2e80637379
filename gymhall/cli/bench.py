"""The `gymhall bench` commands: workload R (`resources`) and workload E (`rollouts`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gymhall.cli.errors import fail

__all__ = ["app"]

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
    from gymhall.bench.report import print_report, write_json
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
    print_report(rows, tool_calls=tool_calls)
    if json_out is not None:
        write_json(rows, json_out)


_BENCH_ROLLOUTS_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall bench rollouts                        both modes, N=256 and N=1024 at C=256\n"
    "  gymhall bench rollouts --mode http -n 1024 -c 64 --json e.json\n"
    "  gymhall bench rollouts --inflight 4000        4,000 rollouts in flight at once, in process"
)


@app.command(
    "rollouts",
    epilog=_BENCH_ROLLOUTS_EPILOG,
    help=(
        "Time whole rollouts (workload E): N tasks of the counter environment, each model call, one tool call, "
        "model call, verify, with gymhall's fake model answering instantly. In-process mode runs agent, "
        "environment and model in one fresh interpreter, timed from spawn to exit (start-up included); http "
        "mode runs agent, resources and model servers as separate processes with this process posting rows to "
        "the agent. Prints rollouts/s and its ratio to NeMo Gym's 89, wall time, CPU per rollout and peak RSS "
        "per process, and errors. Nothing is pinned. --inflight N instead runs N rollouts at once, in process."
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
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the results to this JSON file.")] = None,
) -> None:
    from gymhall.bench.rollouts import bench_rollouts, print_rollouts_report, write_rollouts_json

    if mode not in ("inprocess", "http", "both"):
        fail(f"unknown --mode {mode!r}; choose inprocess, http or both.")
    try:
        results = bench_rollouts(
            modes=("inprocess", "http") if mode == "both" else (mode,),
            ns=rollouts or [256, 1024],
            concurrency=concurrency,
            inflight=inflight,
            timeout_s=timeout,
            progress=lambda line: typer.echo(line, err=True),
        )
    except (ValueError, RuntimeError) as exc:
        fail(str(exc))
    print_rollouts_report(results)
    if json_out is not None:
        write_rollouts_json(results, json_out)
