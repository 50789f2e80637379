"""Dataset rows: reading JSONL (NeMo Gym rows work unchanged) and expanding them into rollouts.

Each row becomes `repeats` rollouts, keyed by NeMo Gym's `_ng_task_index` (the row's own, or its
position) and `_ng_rollout_index`, in NeMo Gym's order: aabbcc.

A rollouts file is append-only: a resumed run that retries a failed rollout appends its new line, so
the same (task, rollout) key may appear more than once. Wherever lines are read, the newer line for a
key wins (`latest_lines`); a line without both indices is a rollout of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from gymhall.exceptions import DatasetError
from gymhall.wire.lines import ROLLOUT_KEY, TASK_KEY

__all__ = ["expand_rows", "iter_jsonl", "latest_lines", "read_rows", "rollout_key"]


def iter_jsonl(path: Path, *, tolerate_torn_tail: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of a JSONL file.

    With `tolerate_torn_tail`, a last line without its newline that does not parse (a writer killed
    mid-line) is skipped; any other bad line is an error naming the file and the line.
    """
    data = path.read_bytes()
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if tolerate_torn_tail and number == len(lines):
                return
            raise DatasetError(f"{path}:{number}: not valid JSON ({exc}). Fix or remove that line.") from None
        if not isinstance(value, dict):
            raise DatasetError(f"{path}:{number}: a line must be a JSON object, not {type(value).__name__}.")
        yield number, value


def read_rows(path: str | Path, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The rows of a dataset file, checked: each needs `responses_create_params` with an `input`."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"Dataset file {path} does not exist. Check the path given with --input.")
    rows: list[dict[str, Any]] = []
    for number, row in iter_jsonl(path):
        if limit is not None and len(rows) >= limit:
            break
        params = row.get("responses_create_params")
        if not isinstance(params, Mapping) or "input" not in params:
            raise DatasetError(
                f"{path}:{number}: the row has no responses_create_params.input. Each row needs "
                '{"responses_create_params": {"input": ...}} (NeMo Gym\'s dataset format).'
            )
        rows.append(row)
    return rows


def expand_rows(rows: Iterable[Mapping[str, Any]], repeats: int = 1) -> list[dict[str, Any]]:
    """Every rollout to run: each row `repeats` times, with its task and rollout indices."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    expanded = []
    for position, row in enumerate(rows):
        task = row.get(TASK_KEY, position)
        for rollout in range(repeats):
            expanded.append({**row, TASK_KEY: task, ROLLOUT_KEY: rollout})
    return expanded


def rollout_key(line: Mapping[str, Any]) -> tuple[Any, Any] | None:
    """A line's (task, rollout) key, or None when it lacks either index (then it is a rollout of its own)."""
    task, rollout = line.get(TASK_KEY), line.get(ROLLOUT_KEY)
    if not isinstance(task, int | str) or not isinstance(rollout, int | str):
        return None
    return task, rollout


def latest_lines(lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines of a rollouts file with each (task, rollout) key once: the newer (later) line wins.

    Kept in the order of the winning lines, so a retried rollout sits where its newest line was written.
    """
    latest: dict[Any, dict[str, Any]] = {}
    for position, line in enumerate(lines):
        key = rollout_key(line)
        slot: Any = ("unkeyed", position) if key is None else ("keyed", key)
        latest.pop(slot, None)  # re-inserted last: the newest line's place
        latest[slot] = line
    return list(latest.values())
