"""What `gymhall collect` and `reverify` show: the progress bar, the summary table, the most common failures."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["Progress", "failure_lines", "print_failures", "print_summary"]

_TOP_FAILURES = 5  # the failure messages shown under a summary, most common first


def print_failures(console: Any, errors: Any) -> None:
    """The most common failure messages, grouped, with their counts."""
    for text in failure_lines(errors):
        console.print(text, soft_wrap=True, markup=False, highlight=False)


def failure_lines(errors: Counter[str]) -> list[str]:
    """The lines that show the most common failure messages ("stage: error"), grouped, with their counts."""
    if not errors:
        return []
    shown = [f"  {count:>6} x {message}" for message, count in errors.most_common(_TOP_FAILURES)]
    others = len(errors) - _TOP_FAILURES
    if others > 0:
        shown.append(f"  and {others} other messages (see each failed line's failure.error)")
    return ["most common failures:", *shown]


class Progress:
    """A progress bar with rate, ETA, mean reward and failures; with `watch`, where the rows run (`--ray`)."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("rollouts"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}/s"),
            TimeRemainingColumn(),
            TextColumn("reward {task.fields[reward]}  failed {task.fields[failed]}"),
            TextColumn("{task.fields[cluster]}"),
            console=console,
            transient=False,
        )
        self._task: Any = None
        self._started = time.monotonic()
        self.stats: Any = None  # the run's counts after the last line, once one is done
        self._cluster: Callable[[], str] | None = None

    def watch(self, runner: Any) -> None:
        """Show `runner.view()` ("workers 3/4 on 2 nodes") beside the counts: `ray_runner_factory`'s `on_start`."""
        self._cluster = runner.view

    def stop(self) -> None:
        """Stop drawing, so that what is printed next stands below the bar."""
        self._progress.stop()

    def __enter__(self) -> Progress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def update(self, line: dict[str, Any], stats: Any) -> None:
        self.stats = stats
        if self._task is None:
            self._task = self._progress.add_task(
                "collect", total=stats.total, completed=stats.skipped, rate="-", reward="-", failed=0, cluster=""
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
            cluster="" if self._cluster is None else self._cluster(),
        )


def print_summary(console: Any, stats: Any, seconds: float, output: Path, metrics: Path) -> None:
    from rich.table import Table

    table = Table(title="collection summary", show_header=False)
    overall = stats.overall()  # after --resume: the lines done before and the ones done now
    table.add_row("rollouts", str(stats.total))
    if stats.before is not None:
        before = stats.before
        table.add_row("done before", f"{before.ok + before.failed} ({before.ok} ok, {before.failed} failed)")
        table.add_row("done now", f"{stats.ok + stats.failed} ({stats.ok} ok, {stats.failed} failed)")
    table.add_row("ok", str(overall.ok))
    stages = ", ".join(f"{stage} {count}" for stage, count in sorted(overall.failed_by_stage.items()))
    table.add_row("failed", f"{overall.failed}" + (f" ({stages})" if stages else ""))
    # The mean covers the ok lines only: say how many, so "1.0000" over 5 of 10 is not read as 1.0 over 10.
    mean = "-" if overall.mean_reward is None else f"{overall.mean_reward:.4f}"
    if overall.coverage is not None:
        mean += f" over {overall.ok} of {overall.ok + overall.failed} rollouts (coverage {overall.coverage:.1%})"
    table.add_row("mean reward", mean)
    ran = stats.ok + stats.failed
    table.add_row("wall time", f"{seconds:.1f} s ({ran / max(seconds, 1e-9):.1f} rollouts/s)")
    table.add_row("output", str(output))
    table.add_row("metrics", str(metrics))
    console.print(table)
