"""`gymhall collect`, `gymhall metrics` and `gymhall reverify` as library calls: choose the runner, show progress.

One code path, three ways to run: in-process (the default: the config's resources server is built in
this process, nothing is started), against a resources server's URL (`gymhall serve`), or against a
NeMo Gym-compatible agent's URL (`POST /run`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gymhall.client.resources import AsyncResourcesClient
from gymhall.collection.agent import Agent, RemoteAgent
from gymhall.collection.datasets import expand_rows, iter_jsonl, read_rows
from gymhall.collection.pool import CollectStats, Runner, collect, rollouts
from gymhall.exceptions import ConfigError, DatasetError, ServerError
from gymhall.wire.contract import judge_failure
from gymhall.wire.lines import RolloutFailure, failed_line

__all__ = ["CollectOptions", "metrics_path", "resources_client", "reverify_file", "run_collect", "write_metrics"]


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
    resume: bool = False
    overwrite: bool = False
    max_steps: int = 16
    timeout_s: float = 600.0
    max_attempts: int = 3
    api: str = "responses"
    sampling: dict[str, Any] = field(default_factory=dict)


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
            "Name the environment: --config FILE (run in-process), --resources-url URL, or --agent-url URL."
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
    """Collect rollouts as `options` say; `progress(line, stats)` is called after each line."""
    rows = _apply_sampling(read_rows(options.input, limit=options.limit), options.sampling)
    expanded = expand_rows(rows, options.repeats)
    closers = []
    run: Runner
    if options.agent_url:
        remote = RemoteAgent(options.agent_url, timeout_s=options.timeout_s)
        closers.append(remote.aclose)
        run = remote.run
    else:
        from gymhall.models.spec_strings import model_from_spec

        resources = _resources_client(options)
        spec, api_key = _policy_from_env_file(options.model)
        model = model_from_spec(spec, api=options.api, api_key=api_key)  # type: ignore[arg-type]
        closers.extend([resources.aclose, model.aclose])
        run = Agent(resources, model, max_steps=options.max_steps, timeout_s=options.timeout_s).run
    try:
        stats = await collect(
            expanded,
            options.output,
            run,
            concurrency=options.concurrency,
            resume=options.resume,
            overwrite=options.overwrite,
            max_attempts=options.max_attempts,
            on_line=progress,
        )
    finally:
        for close in closers:
            await close()
    write_metrics(options.output)
    return stats


def write_metrics(rollouts_file: Path, *, answer_key: str | None = None) -> dict[str, Any]:
    """Compute the metrics of a rollouts file and write them beside it."""
    from gymhall.collection.metrics import read_rollouts, rollout_metrics

    metrics = rollout_metrics(read_rollouts(rollouts_file), answer_key=answer_key)
    metrics_path(rollouts_file).write_bytes(orjson.dumps(metrics, option=orjson.OPT_INDENT_2) + b"\n")
    return metrics


async def reverify_file(
    rollouts_file: Path,
    output: Path,
    *,
    configs: Sequence[str] = (),
    overrides: Sequence[str] = (),
    server_name: str | None = None,
    resources_url: str | None = None,
    concurrency: int = 64,
) -> CollectStats:
    """Re-run `POST /verify` on every ok line's stored response, without calling the model.

    Failed lines are carried over unchanged. Verify runs without a session, so it must not read
    session state (NeMo Gym's "stateless" reverify); one that does fails its line with the server's reason.
    """
    if not rollouts_file.is_file():
        raise DatasetError(f"{rollouts_file} does not exist.")
    options = CollectOptions(
        input=rollouts_file,
        output=output,
        configs=configs,
        overrides=overrides,
        server_name=server_name,
        resources_url=resources_url,
    )
    resources = _resources_client(options)
    lines = [line for _, line in iter_jsonl(rollouts_file, tolerate_torn_tail=True)]

    async def run(line: Mapping[str, Any]) -> dict[str, Any]:
        if line.get("status") != "ok":
            return dict(line)
        body = {k: v for k, v in line.items() if k not in ("reward", "status", "timings", "failure")}
        start = time.monotonic()
        try:
            verified = await resources.verify(body)
        except ServerError as exc:
            failure = RolloutFailure("verify", str(exc)[:500], retryable=False)
            return failed_line(body, failure, {"verify_s": time.monotonic() - start})
        timings = {"verify_s": time.monotonic() - start}
        judge_error = judge_failure(verified)
        if judge_error is not None:  # NeMo Gym's judge failsafe: never a reward
            return failed_line(body, RolloutFailure("judge", judge_error, retryable=True), timings)
        return {**verified, "status": "ok", "previous_reward": line.get("reward"), "timings": timings}

    stats = CollectStats(total=len(lines))
    output.unlink(missing_ok=True)
    with output.open("wb") as handle:
        async for new in rollouts(lines, run, concurrency=concurrency, max_attempts=1):
            handle.write(orjson.dumps(new) + b"\n")
            stats.add(new)
    await resources.aclose()
    write_metrics(output)
    return stats


def run_sync(coroutine: Any) -> Any:
    """Run a collection coroutine on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)
