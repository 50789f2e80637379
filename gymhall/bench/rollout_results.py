"""What a workload E run measures: the rollouts it completed, their rate against NeMo Gym's, and each
process's CPU and peak memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "MODEL_PATHS",
    "NEMO_GYM_ROLLOUTS_PER_S",
    "Mode",
    "ModelPath",
    "ProcessUsage",
    "RolloutsResult",
    "rollouts_result",
]

NEMO_GYM_ROLLOUTS_PER_S = 44.5
"""NeMo Gym 0.4.0 on workload E at N=1024: measured side by side with gymhall in one run on this machine kind
(2 vCPUs), every framework driving the same fake OpenAI-compatible model over HTTP in its own process, the
path a vLLM user runs (issue 16). The earlier 89/s drove a model in NeMo Gym's own process."""

Mode = Literal["inprocess", "http", "inflight"]

ModelPath = Literal["http", "inprocess-fake"]
"""Where the model runs: the fake OpenAI server in its own process over HTTP (the path users run, the
default), or gymhall's fake model inside the agent's process (no HTTP, no validation of its answers)."""

MODEL_PATHS: tuple[ModelPath, ...] = ("http", "inprocess-fake")


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
    `startup_s` runs from spawn (in process) or from starting the servers (http) to the first rollout.
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
    model_path: ModelPath = "http"
    model: str = ""  # the model the agent called: its backend and URL


def rollouts_result(
    mode: Mode,
    n: int,
    concurrency: int,
    counts: dict[str, Any],
    *,
    wall_s: float,
    run_s: float,
    startup_s: float,
    processes: list[ProcessUsage],
    model_path: ModelPath = "http",
) -> RolloutsResult:
    """The result of a run from its line counts (`ok`, `errors`, `wrong_rewards`, `error_samples`) and timings."""
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
        model_path=model_path,
        model=str(counts.get("model", "")),
    )
