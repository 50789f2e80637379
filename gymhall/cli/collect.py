"""The `collect`, `metrics` and `reverify` commands: Typer signatures over `gymhall.collection.runs`."""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from gymhall.cli.errors import fail
from gymhall.cli.options import ConfigOption, EnvOption, NameOption, ResourcesUrlOption, environment_options
from gymhall.cli.progress import Progress, failure_lines, print_failures, print_summary

__all__ = ["INTERRUPTED", "ROWS_FAILED", "app", "resume_command"]

app = typer.Typer()

ROWS_FAILED = 1
"""The exit code of a run that finished with failed rows (as pytest exits 1 when tests failed); see --allow-failures."""

INTERRUPTED = 130
"""The exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it)."""

COLLECT_HELP = (
    "Run every row of a dataset JSONL through an environment and a model; write one line per rollout.\n\n"
    "Each line is status ok with its reward, or status failed with a typed failure (stage, error, attempts, "
    "retryable) and no reward. Retryable failures are retried up to --max-attempts, within the row's --timeout. "
    "With --resume, a run that was killed completes with no duplicate and no lost row (the input's fingerprint, "
    "<output>_inputs.json, must match), and rows whose last line is a retryable failure are run again "
    "(--keep-failures keeps them); the newer line for a row wins. Metrics go to <output>_metrics.json.\n\n"
    "Exit status: 0 when every row is ok; 1 when any row of the output failed (the most common failure "
    "messages are printed under the summary; --allow-failures exits 0); 2 on a usage error (a flag, a config, "
    "a file); 130 when stopped by Ctrl-C (the metrics of what is done are written and the --resume command "
    "is printed)."
)
COLLECT_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall collect --env weather --model replay   (a bundled environment and its dataset; see gymhall envs)\n"
    "  gymhall collect --input examples/counter/data/example.jsonl --output out/counter.jsonl "
    "--config examples/counter/configs/counter.yaml --model replay\n"
    "  gymhall collect -i data.jsonl -o out.jsonl --config env.yaml --model openai:gpt-4.1-mini --repeats 4\n"
    "  gymhall collect -i data.jsonl -o out.jsonl --config env.yaml --model http://127.0.0.1:8000/v1#my-model "
    "--api chat\n"
    "  gymhall collect -i data.jsonl -o out.jsonl --agent-url http://127.0.0.1:9000   (a NeMo Gym agent)"
)


@app.command("collect", help=COLLECT_HELP, epilog=COLLECT_EPILOG)
def collect_command(
    input: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="Dataset JSONL (NeMo Gym rows work unchanged); --env: its dataset."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Rollouts JSONL to write. Default with --env: runs/ENV.jsonl.")
    ] = None,
    env: EnvOption = None,
    config: ConfigOption = None,
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="replay | openai:MODEL | http://HOST:PORT/v1[#MODEL] | policy (env.yaml)"),
    ] = "replay",
    api: Annotated[str, typer.Option(help="Dialect of a URL model: responses, chat or messages.")] = "responses",
    name: NameOption = None,
    resources_url: ResourcesUrlOption = None,
    agent_url: Annotated[str | None, typer.Option(help="A NeMo Gym-compatible agent server: POST /run.")] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS", help="Run rows on a Ray cluster (ray extra) at ADDRESS; auto: ray start's, else local."
        ),
    ] = None,
    repeats: Annotated[int, typer.Option("--repeats", "-n", help="Rollouts per row.")] = 1,
    fork: Annotated[
        bool,
        typer.Option(
            "--fork",
            help="Seed each row once and play its --repeats on copies of that session (POST /fork_session); "
            "servers that cannot fork are seeded per rollout.",
        ),
    ] = False,
    concurrency: Annotated[int, typer.Option(help="Rollouts in flight at once.")] = 64,
    limit: Annotated[int | None, typer.Option(help="Use only the first N rows.")] = None,
    difficulty: Annotated[
        str | None,
        typer.Option(
            metavar="TIERS",
            help="Only rows of these difficulty tiers, comma-separated (easy,medium); --limit counts the rows kept.",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            help="Finish a run: skip rollouts already in --output (same --input required); rows whose last line "
            "is a retryable failure are run again, their new line appended."
        ),
    ] = False,
    keep_failures: Annotated[
        bool,
        typer.Option("--keep-failures", help="With --resume, keep failed rows as they are: do not run them again."),
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --output (not with --resume).")] = False,
    allow_failures: Annotated[
        bool, typer.Option("--allow-failures", help="Exit 0 even when rows failed (the default exits 1).")
    ] = False,
    max_steps: Annotated[int, typer.Option(help="Model calls per rollout at most.")] = 16,
    timeout: Annotated[
        float,
        typer.Option(
            help="A row's whole budget in seconds, across all its attempts and backoff: once spent, the row "
            "fails and no retry starts."
        ),
    ] = 600.0,
    max_attempts: Annotated[int, typer.Option(help="Attempts per rollout when failures are retryable.")] = 3,
    temperature: Annotated[float | None, typer.Option(help="Sampling override for every row.")] = None,
    top_p: Annotated[float | None, typer.Option(help="Sampling override for every row.")] = None,
    max_output_tokens: Annotated[int | None, typer.Option(help="Sampling override for every row.")] = None,
    overrides: Annotated[list[str] | None, typer.Argument(metavar="[KEY=VALUE]...", help="Config overrides.")] = None,
) -> None:
    from rich.console import Console

    from gymhall.collection.runs import CollectOptions, metrics_path, run_collect, run_sync
    from gymhall.exceptions import ConfigError, DatasetError
    from gymhall.scale import ray_runner_factory

    environment = environment_options(env, config, resources_url, name, agent_url=agent_url, takes_agent_url=True)
    configs = environment.configs
    if env is not None:
        input = input or environment.dataset
        output = output or Path("runs") / f"{env}.jsonl"
    if input is None or output is None:
        fail("name the dataset and the output: --input FILE --output FILE (or --env ENV for a bundled one).")

    sampling: dict[str, Any] = {
        key: value
        for key, value in (("temperature", temperature), ("top_p", top_p), ("max_output_tokens", max_output_tokens))
        if value is not None
    }
    console = Console(stderr=True)
    progress = Progress(console)
    options = CollectOptions(
        input=input,
        output=output,
        model=model,
        configs=configs,
        overrides=overrides or (),
        server_name=name,
        resources_url=resources_url,
        agent_url=agent_url,
        repeats=repeats,
        fork=fork,
        concurrency=concurrency,
        limit=limit,
        difficulty=tuple(tier.strip() for tier in (difficulty or "").split(",") if tier.strip()),
        resume=resume,
        keep_failures=keep_failures,
        overwrite=overwrite,
        max_steps=max_steps,
        timeout_s=timeout,
        max_attempts=max_attempts,
        api=api,
        sampling=sampling,
        # gymhall.scale imports Ray only when it runs; the bar shows the workers and nodes once they are up
        runner=None if ray is None else ray_runner_factory(ray, on_start=progress.watch),
    )
    started = time.monotonic()
    with progress:
        try:
            stats = run_sync(run_collect(options, progress=progress.update))
        except (ConfigError, DatasetError, ValueError) as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            progress.stop()
            _interrupted(console, progress.stats, output)
            raise typer.Exit(INTERRUPTED) from None
    print_summary(console, stats, time.monotonic() - started, output, metrics_path(output))
    overall = stats.overall()
    print_failures(console, overall.errors)
    # The process ends here: frozen, the interpreter's final collections skip its objects (0.15-0.2 s).
    gc.freeze()
    if overall.failed and not allow_failures:
        raise typer.Exit(ROWS_FAILED)


def resume_command(argv: list[str]) -> str:
    """The command line that finishes the run `argv` (the arguments after `gymhall`) started: with --resume."""
    import shlex

    kept = [arg for arg in argv if arg not in ("--overwrite", "--no-overwrite", "--no-resume")]
    if "--resume" not in kept:
        kept.append("--resume")
    return shlex.join(["gymhall", *kept])


def _interrupted(console: Any, stats: Any, output: Path) -> None:
    """What a Ctrl-C leaves: how many rows are done, the metrics of those, and how to finish the run."""
    import sys

    from gymhall.collection.runs import metrics_path

    done = "no rollout done yet"
    if stats is not None:
        overall = stats.overall()
        done = (
            f"{overall.ok + overall.failed} of {stats.total} rollouts done ({overall.ok} ok, {overall.failed} failed)"
        )
    console.print(f"interrupted: {done}; output {output}")
    if metrics_path(output).exists():
        console.print(f"metrics of what is done: {metrics_path(output)}")
    console.print(f"finish the run with:\n  {resume_command(sys.argv[1:])}", soft_wrap=True)


@app.command("metrics")
def metrics_command(
    rollouts: Annotated[Path, typer.Argument(help="A rollouts JSONL written by gymhall collect.")],
    answer_key: Annotated[str | None, typer.Option(help="Field holding each rollout's answer, for majority@k.")] = None,
) -> None:
    """Recompute the metrics of a rollouts file (mean/min/max/std per field, pass@k, majority@k).

    The fields of the input rows (named in <stem>_inputs.json, written by collect) are inputs, not metrics.

    Example: gymhall metrics out/counter.jsonl
    """
    import orjson

    from gymhall.collection.runs import metrics_path, write_metrics
    from gymhall.exceptions import DatasetError

    try:
        metrics = write_metrics(rollouts, answer_key=answer_key)
    except (DatasetError, FileNotFoundError) as exc:
        fail(str(exc))
    typer.echo(orjson.dumps(metrics.get("key_metrics", metrics), option=orjson.OPT_INDENT_2).decode())
    typer.echo(f"written to {metrics_path(rollouts)}", err=True)


@app.command("reverify")
def reverify_command(
    rollouts: Annotated[Path, typer.Argument(help="A rollouts JSONL written by gymhall collect.")],
    env: EnvOption = None,
    config: ConfigOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write (default <stem>_reverified.jsonl).")
    ] = None,
    name: NameOption = None,
    resources_url: ResourcesUrlOption = None,
    replay: Annotated[
        bool | None,
        typer.Option(
            "--replay/--no-replay",
            help="Always / never replay the recorded tool calls in a fresh session before verifying. "
            "Default: only when verify needs the session's state.",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Verify calls in flight at once.")] = 64,
    allow_failures: Annotated[
        bool, typer.Option("--allow-failures", help="Exit 0 even when rollouts failed (the default exits 1).")
    ] = False,
) -> None:
    """Re-run verify on stored rollouts without calling the model; prints how many rewards changed.

    Exit status: 0 when every rollout is ok; 1 when any failed (the most common failure messages are
    printed; --allow-failures exits 0); 2 on a usage error.

    Verify runs without a session where the environment allows it; where it reads session state, each
    rollout's recorded tool calls are replayed in a fresh session first, and a tool answer that differs
    from the recording is reported (a determinism check).

    Example: gymhall reverify out/counter.jsonl --config examples/counter/configs/counter.yaml
    """
    from gymhall.collection.datasets import iter_jsonl
    from gymhall.collection.reverify import reverify_file
    from gymhall.collection.runs import run_sync
    from gymhall.exceptions import ConfigError, DatasetError

    environment = environment_options(env, config, resources_url, name)
    target = output or rollouts.with_name(rollouts.stem + "_reverified.jsonl")
    try:
        stats = run_sync(
            reverify_file(
                rollouts,
                target,
                configs=environment.configs,
                server_name=environment.name,
                resources_url=environment.resources_url,
                concurrency=concurrency,
                replay=replay,
            )
        )
    except (ConfigError, DatasetError) as exc:
        fail(str(exc))
    changed = sum(
        1
        for _, line in iter_jsonl(target)
        if line.get("status") == "ok" and line.get("previous_reward") not in (None, line.get("reward"))
    )
    typer.echo(f"reverified {stats.ok} rollouts ({stats.failed} failed); {changed} rewards changed; wrote {target}")
    _replay_report(stats)
    for text in failure_lines(stats.errors):
        typer.echo(text)
    if stats.failed and not allow_failures:
        raise typer.Exit(ROWS_FAILED)


def _replay_report(stats: Any) -> None:
    """How many rollouts were replayed, and where their tool answers drifted from the recording."""
    if stats.replayed:
        typer.echo(f"replayed the recorded tool calls of {stats.replayed} rollouts in fresh sessions")
    for sentence in stats.drift_lines():
        typer.echo(f"  {sentence}")
