"""Printing and saving benchmark rows."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gymhall.bench.resources import BenchRow

__all__ = ["print_report", "write_json"]


def print_report(rows: list[BenchRow], *, tool_calls: int, console: Console | None = None) -> None:
    """A table of every row: rates, latency percentiles, errors, server RSS and the ratio to the floor."""
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


def write_json(rows: list[BenchRow], path: Path) -> None:
    """Save the rows with the machine they ran on."""
    data = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "rows": [asdict(row) for row in rows],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
