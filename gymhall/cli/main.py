"""The `gymhall` command: a thin Typer layer over the library.

Heavy modules (the launcher, httpx, uvicorn, FastAPI) are imported inside the commands, so that
`gymhall --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

__all__ = ["app", "bench_app", "main"]

app = typer.Typer(
    name="gymhall",
    help="Build, serve and run reinforcement-learning environments for LLM agents (NeMo Gym compatible).",
    epilog=(
        "[b]Example:[/b] serve the bundled weather environment, then stop it with Ctrl-C\n\n"
        "  gymhall serve weather\n\n"
        "Run 'gymhall COMMAND --help' for a command's options and examples."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    # Plain tracebacks: they read better relayed line by line from `run-server` children, and
    # never show a failing frame's locals, which may hold API keys from the config.
    pretty_exceptions_enable=False,
)

# --- `gymhall bench ...` ----------------------------------------------------------------------------
# Place reserved for the benchmark commands (`gymhall bench resources`); the lead adds them here.
bench_app = typer.Typer(
    help="Benchmark gymhall servers: throughput and latency under load.",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")

_BENCH_RESOURCES_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall bench resources                       gymhall's counters (both styles) vs bare Starlette\n"
    "  gymhall bench resources -c 64 -c 256 --rounds 3 --duration 10\n"
    "  gymhall bench resources http://127.0.0.1:8000 --pid 4242 --baseline"
)


@bench_app.command(
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
        _fail(f"unknown --style {bad[0]!r}; choose seed or short.")
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
        _fail(str(exc))
    print_report(rows, tool_calls=tool_calls)
    if json_out is not None:
        write_json(rows, json_out)


_BENCH_ROLLOUTS_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall bench rollouts                        both modes, N=256 and N=1024 at C=256\n"
    "  gymhall bench rollouts --mode http -n 1024 -c 64 --json e.json\n"
    "  gymhall bench rollouts --inflight 4000        4,000 rollouts in flight at once, in process"
)


@bench_app.command(
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
        _fail(f"unknown --mode {mode!r}; choose inprocess, http or both.")
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
        _fail(str(exc))
    print_rollouts_report(results)
    if json_out is not None:
        write_rollouts_json(results, json_out)


# --- end of `gymhall bench` --------------------------------------------------------------------------

# --- rollouts: `gymhall collect`, `gymhall metrics`, `gymhall reverify` --------------------------------
from gymhall.cli.collect import (  # noqa: E402 - grouped with the commands they register
    COLLECT_EPILOG,
    COLLECT_HELP,
    collect_command,
    metrics_command,
    reverify_command,
)
from gymhall.cli.envs import CHECK_EPILOG, check_command, envs_command  # noqa: E402 - grouped as above

# --- generator: `gymhall init`, `gymhall port`, `gymhall validate` -------------------------------------
from gymhall.cli.generator import (  # noqa: E402 - grouped with the commands they register
    INIT_EPILOG,
    PORT_EPILOG,
    VALIDATE_EPILOG,
    init_command,
    port_command,
    validate_command,
)
from gymhall.cli.serve import (  # noqa: E402 - grouped with the commands they register
    SERVE_AGENT_EPILOG,
    SERVE_MODEL_EPILOG,
    serve_agent_command,
    serve_model_command,
)

app.command("collect", help=COLLECT_HELP, epilog=COLLECT_EPILOG)(collect_command)
app.command("serve-model", epilog=SERVE_MODEL_EPILOG)(serve_model_command)
app.command("serve-agent", epilog=SERVE_AGENT_EPILOG)(serve_agent_command)
app.command("metrics")(metrics_command)
app.command("envs")(envs_command)
app.command("check", epilog=CHECK_EPILOG)(check_command)
app.command("init", epilog=INIT_EPILOG)(init_command)
app.command("port", epilog=PORT_EPILOG)(port_command)
app.command("validate", epilog=VALIDATE_EPILOG)(validate_command)
app.command("reverify")(reverify_command)


def _version(value: bool) -> None:
    if value:
        from gymhall import __version__

        typer.echo(f"gymhall {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """Build, serve and run reinforcement-learning environments for LLM agents (NeMo Gym compatible)."""


def _is_override(token: str) -> bool:
    # A token with "=" is an override unless it names an existing file (paths rarely contain "=").
    if token.startswith(("+", "~")):
        return True
    return "=" in token and not Path(token).is_file()


_SERVE_HELP = (
    "Start every server instance of a config, each in its own process, until Ctrl-C.\n\n"
    "Servers without a port get a free one. Each server's output is shown prefixed with its instance "
    "name; once every server answers GET / with 200, a table of URLs is printed. "
    "Ctrl-C or SIGTERM stops them all."
)
_SERVE_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall serve weather                         a bundled environment (see gymhall envs)\n"
    "  gymhall serve examples/weather/configs/weather.yaml\n"
    "  gymhall serve a.yaml b.yaml --name my_env default_host=0.0.0.0\n"
    '  gymhall serve "+config_paths=\\[a.yaml,b.yaml]" my_env.resources_servers.my_impl.port=8000'
)


@app.command(help=_SERVE_HELP, epilog=_SERVE_EPILOG)
def serve(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="ENV|CONFIG|KEY=VALUE",
            help="Bundled environment ids or config YAMLs, then overrides such as a.b.c=value, +key=value or ~key.",
            show_default=False,
        ),
    ],
    name: Annotated[
        list[str] | None,
        typer.Option("--name", "-n", help="Start only this server instance (repeatable). Default: all."),
    ] = None,
    ready_timeout: Annotated[
        float,
        typer.Option(help="Seconds to wait for every server to answer GET / with 200.", min=0.1),
    ] = 30.0,
) -> None:
    """Load the config, plan one process per server instance and run them until stopped."""
    from gymhall.exceptions import ConfigError

    paths = [token for token in args if not _is_override(token)]
    overrides = [token for token in args if _is_override(token)]
    try:
        from gymhall.config.loading import load_config
        from gymhall.config.registry import resolve_config_arguments
        from gymhall.stack.launcher import Launcher, plan_servers

        paths = resolve_config_arguments(paths)

        if not paths and not any(o.lstrip("+").startswith("config_paths=") for o in overrides):
            raise ConfigError(
                "no config file given.\n  Fix: name one or more YAML files, e.g. "
                "gymhall serve examples/weather/configs/weather.yaml"
            )
        config = load_config(paths, overrides)
        plans = plan_servers(config, overrides, names=name or ())
    except ConfigError as exc:
        _fail(str(exc))
    code = Launcher(plans, ready_timeout=ready_timeout).run()
    raise typer.Exit(code)


@app.command(
    "run-server",
    hidden=True,
    add_help_option=False,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
def run_server(
    entry: Annotated[str, typer.Argument(metavar="MODULE:ATTR", help="The server class to serve.")],
    args: Annotated[
        list[str] | None,
        typer.Argument(metavar="[ARGS]...", help="Passed to its run_webserver (--config, --port, ...)."),
    ] = None,
) -> None:
    """Serve a SimpleResourcesServer or Environment subclass named MODULE:ATTR (used by `serve`).

    Example: gymhall run-server my_envs.counter:Counter --port 8000
    """
    import importlib
    import os

    from gymhall.exceptions import ConfigError

    module_name, _, attr_path = entry.partition(":")
    if not module_name or not attr_path:
        _fail(f"{entry!r} is not MODULE:ATTR.\n  Fix: name a class, e.g. my_envs.counter:Counter")
    # Like `python -m`, resolve the module from the current directory first.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: object = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise  # a dependency of the module is missing: its traceback says which
        _fail(
            f"cannot import module {module_name!r} of {entry} (looked in {os.getcwd()} and on PYTHONPATH).\n"
            "  Fix: run from the directory that contains it, or add that directory to PYTHONPATH"
        )
    for part in attr_path.split("."):
        if not hasattr(target, part):
            _fail(f"module {module_name!r} has no attribute {attr_path!r}.\n  Fix: correct the entrypoint")
        target = getattr(target, part)
    run_webserver = getattr(target, "run_webserver", None)
    if not callable(run_webserver):
        _fail(
            f"{entry} is not a server class.\n  Fix: name a SimpleResourcesServer or Environment "
            "subclass, e.g. my_envs.counter:Counter"
        )
    try:
        run_webserver(list(args or []))
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    typer.echo(f"gymhall: error: {message}", err=True)
    raise typer.Exit(2)


def main() -> None:
    """Entry point of the `gymhall` console script and of `python -m gymhall`."""
    app(prog_name="gymhall")
