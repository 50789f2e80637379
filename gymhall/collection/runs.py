"""`gymhall collect` and `gymhall metrics` as library calls: choose the runner, show progress.

`gymhall reverify` is `gymhall.collection.reverify`.

One code path, three ways to run: in-process (the default: the config's resources server is built in
this process, nothing is started), against a resources server's URL (`gymhall serve`), or against a
NeMo Gym-compatible agent's URL (`POST /run`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from gymhall.client.resources import AsyncResourcesClient
from gymhall.collection.agent import Agent, RemoteAgent
from gymhall.collection.curriculum import filter_by_difficulty
from gymhall.collection.datasets import expand_rows, read_rows
from gymhall.collection.fingerprints import check_fingerprint, input_fields, write_fingerprint
from gymhall.collection.forks import SessionForks
from gymhall.collection.pool import CollectStats, Runner, check_output, collect
from gymhall.exceptions import ConfigError

__all__ = ["CollectOptions", "metrics_path", "resources_client", "run_collect", "run_sync", "write_metrics"]


@dataclass
class CollectOptions:
    """Everything `gymhall collect` takes."""

    input: Path
    output: Path
    model: str = "replay"
    configs: Sequence[str] = ()
    overrides: Sequence[str] = ()
    server_name: str | None = None
    resources_url: str | None = None
    agent_url: str | None = None
    repeats: int = 1
    concurrency: int = 64
    limit: int | None = None
    difficulty: Sequence[str] = ()
    """Only the rows of these `difficulty` tiers (`--limit` then counts the rows kept)."""
    resume: bool = False
    keep_failures: bool = False
    overwrite: bool = False
    max_steps: int = 16
    timeout_s: float = 600.0
    max_attempts: int = 3
    fork: bool = False
    """Seed each task once and play its repeats on forks of that session (`POST /fork_session`)."""
    api: str = "responses"
    sampling: dict[str, Any] = field(default_factory=dict)
    runner: RunnerFactory | None = None
    """Where the rows run instead of this process: `gymhall.scale.ray_runner_factory(ADDRESS)` (`--ray`)."""


RunnerFactory = Callable[[CollectOptions, str | None], Awaitable[tuple[Runner, Callable[[], Awaitable[None]]]]]
"""Builds a run's runner elsewhere (a Ray cluster) from its options, the model spec completed from
./env.yaml, and the model's API key; answers the runner and how to close it. Set by a layer above."""


def metrics_path(output: Path) -> Path:
    """Where the metrics of a rollouts file go: beside it, `<stem>_metrics.json`."""
    return output.with_name(output.stem + "_metrics.json")


def resources_client(
    *,
    configs: Sequence[str] = (),
    overrides: Sequence[str] = (),
    name: str | None = None,
    url: str | None = None,
    max_connections: int = 256,
) -> AsyncResourcesClient:
    """A client of the resources server a config names, built in this process; or of a running one at `url`."""
    if url:
        return AsyncResourcesClient(url, max_connections=max_connections)
    if not configs:
        raise ConfigError(
            "No resources server given.\n  Fix: pass configs=[FILE] (built in this process; the CLI's --config "
            "or --env) or url=URL (a running server; the CLI's --resources-url)."
        )
    from gymhall.config.loading import load_config
    from gymhall.server.entrypoints import build_server_app

    instance = load_config(configs, overrides).resources_server(name)
    # No per-request timeout in-process: each rollout's deadline bounds every call.
    return AsyncResourcesClient.for_app(build_server_app(instance), owns_app=True, timeout=None)


def _resources_client(options: CollectOptions) -> AsyncResourcesClient:
    return resources_client(
        configs=options.configs,
        overrides=options.overrides,
        name=options.server_name,
        url=options.resources_url,
        max_connections=max(16, options.concurrency),
    )


def _policy_from_env_file(spec: str) -> tuple[str, str | None]:
    """The model spec and API key, completed from `./env.yaml` as NeMo Gym names them.

    `--model policy` means `policy_base_url` + `policy_model_name`; `policy_api_key` is the key of a
    remote model (else the backend reads `OPENAI_API_KEY`). The key is never printed.
    """
    from gymhall.config.env_file import find_env_file, read_env_file

    env_file = find_env_file("auto")
    if env_file is None:
        if spec == "policy":
            raise ConfigError("--model policy needs ./env.yaml with policy_base_url and policy_model_name.")
        return spec, None
    values = read_env_file(env_file)
    api_key = values.get("policy_api_key")
    if spec == "policy":
        base_url, name = values.get("policy_base_url"), values.get("policy_model_name")
        if not base_url or not name:
            raise ConfigError(f"--model policy needs policy_base_url and policy_model_name in {env_file}.")
        spec = f"{base_url}#{name}"
    return spec, str(api_key) if api_key else None


def _apply_sampling(rows: list[dict[str, Any]], sampling: Mapping[str, Any]) -> list[dict[str, Any]]:
    if not sampling:
        return rows
    # A shallow merge, as NeMo Gym's collector does.
    return [{**row, "responses_create_params": {**row["responses_create_params"], **sampling}} for row in rows]


async def run_collect(options: CollectOptions, *, progress: Any = None) -> CollectStats:
    """Collect rollouts as `options` say; `progress(line, stats)` is called after each line.

    The input rows' fingerprint is written beside the output (`<stem>_inputs.json`) before the first
    rollout; `resume` refuses an input whose rows differ from it. The metrics are written when the
    run ends, and when it is stopped (Ctrl-C, a cancelled task): the metrics of what is done.
    """
    check_output(options.output, resume=options.resume, overwrite=options.overwrite)
    if options.difficulty:
        input_rows = filter_by_difficulty(read_rows(options.input), options.difficulty)[: options.limit]
    else:
        input_rows = read_rows(options.input, limit=options.limit)
    resuming = options.resume and options.output.exists()
    if resuming:
        check_fingerprint(options.output, options.input, input_rows)
    expanded = expand_rows(_apply_sampling(input_rows, options.sampling), options.repeats)
    closers = []
    forks: SessionForks | None = None
    run: Runner
    if options.runner is not None:
        spec, api_key = _policy_from_env_file(options.model)
        run, close = await options.runner(replace(options, model=spec), api_key)
        closers.append(close)
    elif options.agent_url:
        remote = RemoteAgent(options.agent_url, timeout_s=options.timeout_s)
        closers.append(remote.aclose)
        run = remote.run
    else:
        from gymhall.models.spec_strings import model_from_spec

        resources = _resources_client(options)
        spec, api_key = _policy_from_env_file(options.model)
        model = model_from_spec(spec, api=options.api, api_key=api_key)  # type: ignore[arg-type]
        closers.extend([resources.aclose, model.aclose])
        forks = SessionForks(resources) if options.fork else None
        agent = Agent(resources, model, max_steps=options.max_steps, timeout_s=options.timeout_s, forks=forks)
        run = agent.run
    try:
        if options.runner is None and not options.agent_url:  # the model's key and URL, checked once
            await model.preflight(key_source="OPENAI_API_KEY, or policy_api_key in ./env.yaml")
        write_fingerprint(options.output, options.input, input_rows, merge=resuming)
        stats = await collect(
            expanded,
            options.output,
            run,
            concurrency=options.concurrency,
            resume=options.resume,
            overwrite=options.overwrite,
            max_attempts=options.max_attempts,
            row_timeout_s=options.timeout_s,
            keep_failures=options.keep_failures,
            on_line=progress,
            on_pending=forks.expect if forks is not None else None,
        )
    finally:
        for close in closers:
            await close()
        if options.output.exists():  # also when stopped part-way: the metrics of what is done
            write_metrics(options.output)
    return stats


def write_metrics(rollouts_file: Path, *, answer_key: str | None = None) -> dict[str, Any]:
    """Compute the metrics of a rollouts file and write them beside it.

    The fields of the input rows (from the fingerprint `gymhall collect` wrote) are inputs, never metrics.
    """
    from gymhall.collection.metrics import read_rollouts, rollout_metrics

    inputs = input_fields(rollouts_file) or ()
    metrics = rollout_metrics(read_rollouts(rollouts_file), answer_key=answer_key, inputs=inputs)
    metrics_path(rollouts_file).write_bytes(orjson.dumps(metrics, option=orjson.OPT_INDENT_2) + b"\n")
    return metrics


def run_sync(coroutine: Any) -> Any:
    """Run a collection coroutine on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)
