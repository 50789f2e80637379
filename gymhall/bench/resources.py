"""`gymhall bench resources`: workload R against a URL, or against gymhall's own counters and a bare-Starlette floor.

With no URL, each target (the bare Starlette baseline, the seed-style counter, the short-style
counter) runs in its own uvicorn process pinned to CPU 0 while the load generator runs on CPU 1.
Targets take turns within each round and the best round counts, so a noisy neighbour on the
shared machine hurts every target alike; ratios are against the baseline of the same run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gymhall.bench.loadgen import LoadResult, LoadSpec, run_load_sync
from gymhall.bench.process import start_server
from gymhall.bench.protocol import SERVER_PROTOCOL_IMPORT
from gymhall.bench.usage import server_rss_bytes

__all__ = ["BASELINE", "TARGETS", "BenchRow", "bench_resources"]

# Each target's app; gymhall's run under the protocol gymhall's servers use (request deadline, connection cap).
TARGETS: dict[str, tuple[str, bool]] = {
    "starlette-baseline": ("gymhall.bench.baseline:create_app", True),
    "gymhall-seed-style": ("gymhall.bench.counters:seed_style_app", True),
    "gymhall-short-style": ("gymhall.bench.counters:short_style_app", True),
}
BASELINE = "starlette-baseline"


@dataclass(frozen=True)
class BenchRow:
    """One target at one concurrency: its best round, the server's RSS after it, its ratio to the baseline."""

    target: str
    concurrency: int
    result: LoadResult
    rss_bytes: int | None
    ratio: float | None


def _pin_self(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


def _spec(url: str, concurrency: int, tool_calls: int, duration_s: float, episodes: int) -> LoadSpec:
    return LoadSpec(
        url=url,
        concurrency=concurrency,
        tool_calls=tool_calls,
        episodes=episodes,
        duration_s=duration_s,
        warmup_s=min(1.0, duration_s / 4),
    )


def bench_resources(
    *,
    targets: Sequence[str],
    concurrencies: Sequence[int],
    url: str | None = None,
    pid: int | None = None,
    tool_calls: int = 8,
    duration_s: float = 10.0,
    rounds: int = 1,
    episodes: int = 10**9,
    progress: Callable[[str], None] = lambda _: None,
) -> list[BenchRow]:
    """Load each target from CPU 1: the built-in ones started pinned to CPU 0, and `url` if given.

    Ratios compare each target with the Starlette baseline of the same run, when it ran.
    """
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ValueError(f"Unknown bench target(s) {unknown}; choose from {sorted(TARGETS)}.")
    names = [*targets, *([url] if url else [])]
    if not names:
        raise ValueError("Nothing to benchmark: give a URL or at least one built-in target.")
    if url:
        _spec(url, 1, tool_calls, duration_s, episodes)  # refuses a non-loopback URL before anything starts
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    _pin_self(1)
    try:
        best = _measure_all(targets, url, pid, concurrencies, tool_calls, duration_s, rounds, episodes, progress)
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)
    rows = []
    for concurrency in concurrencies:
        floor = best.get((BASELINE, concurrency))
        for name in names:
            result, rss = best[(name, concurrency)]
            ratio = result.episodes_per_s / floor[0].episodes_per_s if floor and floor[0].episodes_per_s else None
            rows.append(BenchRow(name, concurrency, result, rss, ratio))
    return rows


def _measure_all(
    targets: Sequence[str],
    url: str | None,
    pid: int | None,
    concurrencies: Sequence[int],
    tool_calls: int,
    duration_s: float,
    rounds: int,
    episodes: int,
    progress: Callable[[str], None],
) -> dict[tuple[str, int], tuple[LoadResult, int | None]]:
    two_cores = (os.cpu_count() or 1) >= 2
    best: dict[tuple[str, int], tuple[LoadResult, int | None]] = {}

    def measure(name: str, target_url: str, target_pid: int | None, round_number: int) -> None:
        for concurrency in concurrencies:
            progress(f"round {round_number}/{rounds}: {name} at C={concurrency}")
            result = run_load_sync(_spec(target_url, concurrency, tool_calls, duration_s, episodes))
            rss = server_rss_bytes(target_pid) if target_pid is not None else None
            key = (name, concurrency)
            if key not in best or result.episodes_per_s > best[key][0].episodes_per_s:
                best[key] = (result, rss)

    for round_number in range(1, rounds + 1):
        for target in targets:
            app, factory = TARGETS[target]
            http = "httptools" if target == BASELINE else SERVER_PROTOCOL_IMPORT
            with start_server(app, cpu=0 if two_cores else None, factory=factory, http=http) as server:
                measure(target, server.url, server.pid, round_number)
        if url:
            measure(url, url, pid, round_number)
    return best
