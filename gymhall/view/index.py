"""The index of a rollouts file: read once, then each trajectory read from disk by its byte offset.

A 100,000-rollout run is about 1 GB, mostly responses. The index keeps, per rollout, only what the
summary and the task table need (its key, status, reward, numeric fields, timings, failure) and where its
line lies in the file; a trajectory is read back with one seek when the page asks for it. As
`gymhall.collection.datasets.latest_lines` does, the newest line per (task, rollout) key wins: a resumed
run appends a retried rollout after its failed attempt. `refresh()` reads only the bytes appended since
the last read (for `gymhall view --follow` while `gymhall collect` still writes the file).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gymhall.collection.datasets import rollout_key
from gymhall.exceptions import DatasetError
from gymhall.wire.aggregation import numeric_fields
from gymhall.wire.lines import ROLLOUT_KEY, TASK_KEY

__all__ = ["ANSWER_KEY", "RolloutEntry", "RolloutIndex", "TaskEntry", "detect_answer_key", "prompt_text"]

ANSWER_KEY = "extracted_answer"
"""The field NeMo Gym's environments put a rollout's answer in; majority@k votes on it when lines have it."""

_PROMPT_CHARS = 300
_MESSAGE_CHARS = 300


@dataclass(slots=True)
class RolloutEntry:
    """What the index keeps of one rollout: its key, outcome and numbers, and where its line lies."""

    id: int
    task: Any
    rollout: Any
    offset: int
    length: int
    line_number: int
    ok: bool
    reward: float | None
    fields: dict[str, float]
    answer: Any = None
    stage: str | None = None
    message: str | None = None
    timings: dict[str, float] | None = None


@dataclass(slots=True)
class TaskEntry:
    """A task: its prompt (for the table and the search) and the ids of its rollouts."""

    task: Any
    prompt: str
    rollout_ids: list[int] = field(default_factory=list)


def prompt_text(line: Mapping[str, Any]) -> str:
    """The user's text of a line's input, shortened: what the task table shows and searches."""
    params = line.get("responses_create_params")
    items = params.get("input") if isinstance(params, Mapping) else None
    if isinstance(items, str):
        return items[:_PROMPT_CHARS]
    parts: list[str] = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping) or item.get("role") not in ("user", None):
            continue
        content = item.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return " ".join(parts)[:_PROMPT_CHARS]


def detect_answer_key(path: str | os.PathLike[str]) -> str | None:
    """`ANSWER_KEY` when the first ok line of `path` holds it, else None (read up to the first 100 lines)."""
    try:
        with open(path, "rb") as handle:
            for _, raw in zip(range(100), handle, strict=False):
                try:
                    line = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(line, dict) and line.get("status") in (None, "ok"):
                    return ANSWER_KEY if ANSWER_KEY in line else None
    except OSError:
        return None
    return None


def _failure(line: Mapping[str, Any]) -> tuple[str, str]:
    failure = line.get("failure")
    if isinstance(failure, Mapping):
        stage = str(failure.get("stage") or "unknown")
        error = str(failure.get("error") or line.get("failure_reason") or "")
    else:
        stage, error = "unknown", str(line.get("failure_reason") or "")
    return stage, error.strip().split("\n", 1)[0][:_MESSAGE_CHARS]


def _timings(line: Mapping[str, Any]) -> dict[str, float] | None:
    timings = line.get("timings")
    if not isinstance(timings, Mapping):
        return None
    return {str(k): float(v) for k, v in timings.items() if isinstance(v, int | float) and not isinstance(v, bool)}


class RolloutIndex:
    """One rollouts file, indexed: `entries` by id, `tasks` by task index, and `read(id)` for a whole line.

    Thread-safe: the page's requests read it while `refresh()` (in another thread) adds lines.
    `answer_key` names the field majority@k votes on; `inputs` names the dataset rows' fields, which are
    not metrics (as `gymhall metrics` reads them from `<stem>_inputs.json`).
    """

    def __init__(self, path: str | os.PathLike[str], *, answer_key: str | None = None, inputs: Collection[str] = ()):
        self.path = Path(path)
        if not self.path.is_file():
            raise DatasetError(
                f"Rollouts file {self.path} does not exist. Fix: pass a JSONL written by gymhall collect."
            )
        self.answer_key = answer_key
        self.inputs = frozenset(inputs)
        self.entries: list[RolloutEntry] = []
        self.tasks: dict[Any, TaskEntry] = {}
        self.bad_lines: list[int] = []  # line numbers that are not JSON objects (skipped)
        self.version = 0  # bumped whenever entries change, so cached views know to recompute
        self.bytes_read = 0
        self._by_key: dict[Any, int] = {}
        self._lines = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """The file's size now, in bytes."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def refresh(self) -> int:
        """Read the lines appended since the last call (all of them the first time); returns how many.

        A last line without its newline that does not parse yet is left for the next call (a writer is
        mid-line). A file that shrank was rewritten (`gymhall collect` without `--resume`): read afresh.
        """
        with self._lock:
            if self.size < self.bytes_read:
                self._reset()
            added = 0
            with open(self.path, "rb") as handle:
                handle.seek(self.bytes_read)
                for raw in handle:
                    complete = raw.endswith(b"\n")
                    if raw.strip():
                        try:
                            value = orjson.loads(raw)
                        except orjson.JSONDecodeError:
                            if not complete:
                                break  # a torn tail: perhaps still being written
                            value = None
                        self._lines += 1
                        if isinstance(value, dict):
                            self._add(value, self.bytes_read, len(raw))
                            added += 1
                        else:
                            self.bad_lines.append(self._lines)
                    elif not complete:
                        break
                    self.bytes_read += len(raw)
            if added:
                self.version += 1
            return added

    def _reset(self) -> None:
        self.entries, self.tasks, self.bad_lines, self._by_key = [], {}, [], {}
        self.bytes_read, self._lines = 0, 0
        self.version += 1

    def _add(self, line: dict[str, Any], offset: int, length: int) -> None:
        key = rollout_key(line)
        slot = ("unkeyed", self._lines) if key is None else ("keyed", key)
        # Lines without a status are NeMo Gym rollouts, whose main file holds only successes.
        ok = line.get("status") in (None, "ok")
        task = line.get(TASK_KEY, f"line {self._lines}")
        entry = RolloutEntry(
            id=len(self.entries),
            task=task,
            rollout=line.get(ROLLOUT_KEY, 0),
            offset=offset,
            length=length,
            line_number=self._lines,
            ok=ok,
            reward=None,
            fields={},
            timings=_timings(line),
        )
        if ok:
            entry.fields = numeric_fields(line, inputs=self.inputs)
            if self.answer_key is not None:
                entry.fields.pop(self.answer_key, None)
                entry.answer = line.get(self.answer_key)
            entry.reward = entry.fields.get("reward")
        else:
            entry.stage, entry.message = _failure(line)
        previous = self._by_key.get(slot)
        if previous is not None:
            entry.id = previous  # the newer line takes the older one's place; the page's ids stay valid
            self.entries[previous] = entry
            return
        self._by_key[slot] = entry.id
        self.entries.append(entry)
        task_entry = self.tasks.get(task)
        if task_entry is None:
            task_entry = self.tasks[task] = TaskEntry(task, prompt_text(line))
        task_entry.rollout_ids.append(entry.id)

    def snapshot(self) -> tuple[list[RolloutEntry], list[TaskEntry], int]:
        """The entries, the tasks and the version, as of now (copies: a refresh may run meanwhile)."""
        with self._lock:
            tasks = [TaskEntry(t.task, t.prompt, list(t.rollout_ids)) for t in self.tasks.values()]
            return list(self.entries), tasks, self.version

    def find(self, task: Any, rollout: Any) -> RolloutEntry | None:
        """The entry of the (task, rollout) key, or None."""
        with self._lock:
            slot = self._by_key.get(("keyed", (task, rollout)))
            return None if slot is None else self.entries[slot]

    def read(self, rollout_id: int) -> tuple[RolloutEntry, dict[str, Any]]:
        """The entry and the whole line of rollout `rollout_id`, read from disk."""
        with self._lock:
            if not 0 <= rollout_id < len(self.entries):
                raise KeyError(rollout_id)
            entry = self.entries[rollout_id]
        with open(self.path, "rb") as handle:
            handle.seek(entry.offset)
            raw = handle.read(entry.length)
        value = orjson.loads(raw)
        if not isinstance(value, dict):
            raise DatasetError(f"{self.path}:{entry.line_number}: changed on disk since it was indexed.")
        return entry, value
