"""The in-process half of `gymhall bench rollouts`: one fresh interpreter runs N counter rollouts.

    python -m gymhall.bench.rollouts_child --n 256 --concurrency 256 --model-url http://127.0.0.1:8000

Agent and counter environment (called in-process, no HTTP) live in this process, on uvloop; the model
is the fake OpenAI server at `--model-url`, in its own process, reached over HTTP by the backend users
run (`--model http://...`), or with `--model-url` left out the fake model in this process (no HTTP, no
validation of its answers: not the path users run). It prints one JSON line of its own measurements,
with `time.monotonic()` (system-wide on Linux) when the first rollout started, so that the parent
can time start-up from spawn. gymhall is imported inside `main`, after the interpreter starts, for the
same reason.
"""

from __future__ import annotations

import argparse
import time

_START_NS = time.perf_counter_ns()

import asyncio  # noqa: E402 - after the clock starts: their import time is part of start-up
import gc  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

__all__ = ["ROW", "check_line", "main"]

ROW: dict[str, Any] = {"responses_create_params": {"input": "count"}, "initial_count": 0}
"""Every task's row: the counter starts at 0; the fake counter policy increments once and answers 1."""

_MAX_ERROR_SAMPLES = 3


def check_line(line: dict[str, Any]) -> str | None:
    """None for an ok line with reward 1.0, else what is wrong with it ("wrong reward" or the failure)."""
    if line.get("status") != "ok":
        failure = line.get("failure") or {}
        return f"failed at {failure.get('stage')}: {str(failure.get('error'))[:300]}"
    if line.get("reward") != 1.0:
        return "wrong reward"
    return None


class LineTally:
    """Counts lines as ok, wrong reward or error, keeping a few error samples."""

    def __init__(self) -> None:
        self.ok = self.errors = self.wrong = 0
        self.samples: list[str] = []

    def add(self, line: dict[str, Any]) -> None:
        problem = check_line(line)
        if problem is None:
            self.ok += 1
        elif problem == "wrong reward":
            self.wrong += 1
        else:
            self.errors += 1
            if len(self.samples) < _MAX_ERROR_SAMPLES:
                self.samples.append(problem)


async def _run(n: int, concurrency: int, timeout_s: float, model_url: str | None) -> dict[str, Any]:
    from gymhall.bench.counters import short_style_app
    from gymhall.client.resources import AsyncResourcesClient
    from gymhall.collection.agent import Agent
    from gymhall.collection.datasets import expand_rows
    from gymhall.collection.pool import rollouts
    from gymhall.models.spec_strings import model_from_spec

    resources = AsyncResourcesClient.for_app(short_style_app(), timeout=None)  # the rollout deadline bounds calls
    spec = "fake:counter" if model_url is None else f"{model_url.rstrip('/')}/v1#fake-model"
    agent = Agent(resources, model_from_spec(spec), timeout_s=timeout_s)
    rows = expand_rows(ROW for _ in range(n))  # distinct _ng_task_index per row
    ready_monotonic = time.monotonic()
    ready_ns = time.perf_counter_ns()
    cpu_start = time.process_time()
    sys_start = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    tally = LineTally()
    # max_attempts=1: a failure must show up as an error here, not be hidden by a retry.
    async for line in rollouts(rows, agent.run, concurrency=concurrency, max_attempts=1):
        tally.add(line)
    end_ns = time.perf_counter_ns()
    cpu_loop = time.process_time() - cpu_start
    sys_loop = resource.getrusage(resource.RUSAGE_SELF).ru_stime - sys_start
    await agent.resources.aclose()
    await agent.model.aclose()
    return {
        "n": n,
        "concurrency": concurrency,
        "ok": tally.ok,
        "errors": tally.errors,
        "wrong_rewards": tally.wrong,
        "error_samples": tally.samples,
        "startup_s": (ready_ns - _START_NS) / 1e9,
        "ready_monotonic": ready_monotonic,
        # Which model the agent called, and where.
        "model": repr(agent.model) if model_url is not None else f"{type(agent.model).__name__} ({spec}, in process)",
        "loop_s": (end_ns - ready_ns) / 1e9,
        "loop_cpu_s": cpu_loop,
        "loop_system_cpu_s": sys_loop,  # the kernel's part (loopback TCP, for a model over HTTP)
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run the rollouts and print one JSON line of measurements."""
    parser = argparse.ArgumentParser(prog="python -m gymhall.bench.rollouts_child", description=__doc__)
    parser.add_argument("--n", type=int, required=True, help="rollouts to run (one per task)")
    parser.add_argument("--concurrency", type=int, required=True, help="rollouts in flight at once")
    parser.add_argument("--timeout-s", type=float, default=120.0, help="deadline of each rollout")
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats of the run to FILE")
    parser.add_argument("--model-url", help="the fake OpenAI server (without /v1); left out: the in-process fake")
    args = parser.parse_args(argv)
    if args.n < 1 or args.concurrency < 1:
        parser.error("--n and --concurrency must be at least 1")

    import uvloop

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result = runner.run(_run(args.n, args.concurrency, args.timeout_s, args.model_url))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    result["peak_rss_bytes"] = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    result["cpu_s"] = time.process_time()
    print(json.dumps(result), flush=True)
    # Every object left is garbage the process is about to drop: frozen, it is spared the interpreter's
    # final collections, passes over the objects that pydantic's models and FastAPI leave (0.1-0.2 s).
    gc.freeze()


if __name__ == "__main__":
    main()
