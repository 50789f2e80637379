"""`WorkplaceState`: one session's SQLite database, and how a tool's operation runs on it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gymhall import SessionNotFound, ToolError
from gymhall.envs.workplace.world import generate_world, open_database

__all__ = ["WorkplaceState", "fresh_state"]

R = TypeVar("R")


@dataclass
class WorkplaceState:
    """One session's database, and what its tools showed the model (for the answer's grounding)."""

    seed: int
    db: sqlite3.Connection
    # Tool calls run in the threadpool and verify in a worker thread: this serializes their use of `db`.
    lock: threading.Lock = field(default_factory=threading.Lock)
    observed: list[Any] = field(default_factory=list)
    calls: int = 0
    errors: int = 0
    closed: bool = False

    def close(self) -> None:
        """Close the database; safe to call twice."""
        with self.lock:
            self.closed = True
            self.db.close()

    def copy(self) -> WorkplaceState:
        """An independent copy of this session, for `POST /fork_session`: its database copied with
        SQLite's backup API (page by page, no re-building of the world), and what the tools showed."""
        with self.lock:
            self.check_open()
            db = sqlite3.connect(":memory:", check_same_thread=False)
            self.db.backup(db)
            db.row_factory = sqlite3.Row
            return WorkplaceState(self.seed, db, observed=list(self.observed), calls=self.calls, errors=self.errors)

    def check_open(self) -> None:
        """Refuse use after close (a call racing its session's close); call with `lock` held."""
        if self.closed:
            raise SessionNotFound("This session was closed while the call waited. Start a new one.")

    def run(self, operation: Callable[[sqlite3.Connection], R]) -> R:
        """Run one tool's operation as one transaction: a refused call changes nothing."""
        with self.lock:
            self.check_open()
            self.calls += 1
            try:
                with self.db:
                    result = operation(self.db)
            except ToolError:
                self.errors += 1
                raise
            self.observed.append(result)
        return result


def fresh_state(seed: int) -> WorkplaceState:
    """A state holding a fresh database of the world of `seed`."""
    db = open_database(generate_world(seed))
    db.row_factory = sqlite3.Row
    return WorkplaceState(seed, db)
