"""The `collect`, `metrics` and `reverify` commands: Typer signatures over `gymhall.collection.runs`."""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from gymhall.cli.errors import fail

__all__ = ["app"]

app = typer.Typer()

COLLECT_HELP = (
    "Run every row of a dataset JSONL through an environment and a model; write one line per rollout.\n\n"
    "Each line is status ok with its reward, or status failed with a typed failure (stage, error, attempts, "
    "retryable) and no reward. Retryable failures are retried up to --max-attempts. With --resume, a run "
    "that was killed completes with no duplicate and no lost row. Metrics go to <output>_metrics.json."
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
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="A bundled environment (see `gymhall envs`), run in-process.")
    ] = None,
    config: Annotated[
        list[str] | None, typer.Option("--config", "-c", help="Config YAML naming the resources server (repeatable).")
    ] = None,
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="replay | openai:MODEL | http://HOST:PORT/v1[#MODEL] | policy (env.yaml)"),
    ] = "replay",
    api: Annotated[str, typer.Option(help="Dialect of a URL model: responses or chat.")] = "responses",
    name: Annotated[str | None, typer.Option(help="Resources server instance, when the configs hold several.")] = None,
    resources_url: Annotated[
        str | None, typer.Option(help="A running resources server (gymhall serve) instead of in-process.")
    ] = None,
    agent_url: Annotated[str | None, typer.Option(help="A NeMo Gym-compatible agent server: POST /run.")] = None,
    repeats: Annotated[int, typer.Option("--repeats", "-n", help="Rollouts per row.")] = 1,
    concurrency: Annotated[int, typer.Option(help="Rollouts in flight at once.")] = 64,
    limit: Annotated[int | None, typer.Option(help="Use only the first N rows.")] = None,
    resume: Annotated[bool, typer.Option(help="Finish a run: skip rollouts already in --output.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --output.")] = False,
    max_steps: Annotated[int, typer.Option(help="Model calls per rollout at most.")] = 16,
    timeout: Annotated[float, typer.Option(help="Deadline of one rollout, in seconds.")] = 600.0,
    max_attempts: Annotated[int, typer.Option(help="Attempts per rollout when failures are retryable.")] = 3,
    temperature: Annotated[float | None, typer.Option(help="Sampling override for every row.")] = None,
    top_p: Annotated[float | None, typer.Option(help="Sampling override for every row.")] = None,
    max_output_tokens: Annotated[int | None, typer.Option(help="Sampling override for every row.")] = None,
    overrides: Annotated[list[str] | None, typer.Argument(metavar="[KEY=VALUE]...", help="Config overrides.")] = None,
) -> None:
    from rich.console import Console

    from gymhall.collection.runs import CollectOptions, metrics_path, run_collect, run_sync
    from gymhall.exceptions import ConfigError, DatasetError

    configs = list(config or ())
    if env is not None:
        from gymhall.config.registry import get_env

        try:
            spec = get_env(env)
        except ConfigError as exc:
            fail(str(exc))
        configs.insert(0, str(spec.config))
        input = input or spec.dataset
        output = output or Path("runs") / f"{env}.jsonl"
    if input is None or output is None:
        fail("name the dataset and the output: --input FILE --output FILE (or --env ENV for a bundled one).")

    sampling: dict[str, Any] = {
        key: value
        for key, value in (("temperature", temperature), ("top_p", top_p), ("max_output_tokens", max_output_tokens))
        if value is not None
    }
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
        concurrency=concurrency,
        limit=limit,
        resume=resume,
        overwrite=overwrite,
        max_steps=max_steps,
        timeout_s=timeout,
        max_attempts=max_attempts,
        api=api,
        sampling=sampling,
    )
    console = Console(stderr=True)
    started = time.monotonic()
    with _Progress(console) as progress:
        try:
            stats = run_sync(run_collect(options, progress=progress.update))
        except (ConfigError, DatasetError, ValueError) as exc:
            fail(str(exc))
    _summary(console, stats, time.monotonic() - started, output, metrics_path(output))
    # The process ends here: frozen, the interpreter's final collections skip its objects (0.15-0.2 s).
    gc.freeze()


class _Progress:
    """A progress bar with rate, ETA, mean reward and failures."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("rollouts"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}/s"),
            TimeRemainingColumn(),
            TextColumn("reward {task.fields[reward]}  failed {task.fields[failed]}"),
            console=console,
            transient=False,
        )
        self._task: Any = None
        self._started = time.monotonic()

    def __enter__(self) -> _Progress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def update(self, line: dict[str, Any], stats: Any) -> None:
        if self._task is None:
            self._task = self._progress.add_task(
                "collect", total=stats.total, completed=stats.skipped, rate="-", reward="-", failed=0
            )
        done = stats.ok + stats.failed
        elapsed = max(time.monotonic() - self._started, 1e-9)
        mean = stats.mean_reward
        self._progress.update(
            self._task,
            completed=stats.skipped + done,
            rate=f"{done / elapsed:.1f}",
            reward="-" if mean is None else f"{mean:.3f}",
            failed=stats.failed,
        )


def _summary(console: Any, stats: Any, seconds: float, output: Path, metrics: Path) -> None:
    from rich.table import Table

    table = Table(title="collection summary", show_header=False)
    table.add_row("rollouts", f"{stats.total} ({stats.skipped} already done)")
    table.add_row("ok", str(stats.ok))
    stages = ", ".join(f"{stage} {count}" for stage, count in sorted(stats.failed_by_stage.items()))
    table.add_row("failed", f"{stats.failed}" + (f" ({stages})" if stages else ""))
    table.add_row("mean reward", "-" if stats.mean_reward is None else f"{stats.mean_reward:.4f}")
    ran = stats.ok + stats.failed
    table.add_row("wall time", f"{seconds:.1f} s ({ran / max(seconds, 1e-9):.1f} rollouts/s)")
    table.add_row("output", str(output))
    table.add_row("metrics", str(metrics))
    console.print(table)


@app.command("metrics")
def metrics_command(
    rollouts: Annotated[Path, typer.Argument(help="A rollouts JSONL written by gymhall collect.")],
    answer_key: Annotated[str | None, typer.Option(help="Field holding each rollout's answer, for majority@k.")] = None,
) -> None:
    """Recompute the metrics of a rollouts file (mean/min/max/std per field, pass@k, majority@k).

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
    config: Annotated[list[str] | None, typer.Option("--config", "-c", help="Config YAML (repeatable).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write (default <stem>_reverified.jsonl).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Resources server instance, when the configs hold several.")] = None,
    resources_url: Annotated[str | None, typer.Option(help="A running resources server instead of in-process.")] = None,
    concurrency: Annotated[int, typer.Option(help="Verify calls in flight at once.")] = 64,
) -> None:
    """Re-run verify on stored rollouts without calling the model; prints how many rewards changed.

    Example: gymhall reverify out/counter.jsonl --config examples/counter/configs/counter.yaml
    """
    from gymhall.collection.datasets import iter_jsonl
    from gymhall.collection.runs import reverify_file, run_sync
    from gymhall.exceptions import ConfigError, DatasetError

    target = output or rollouts.with_name(rollouts.stem + "_reverified.jsonl")
    try:
        stats = run_sync(
            reverify_file(
                rollouts,
                target,
                configs=config or (),
                server_name=name,
                resources_url=resources_url,
                concurrency=concurrency,
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
