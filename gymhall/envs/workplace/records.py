"""Database rows as the workplace tools show them, and the row lookups and ids the tools share."""

from __future__ import annotations

import functools
import random
import sqlite3
from typing import Any

from gymhall import ToolError

__all__ = ["contact_record", "created_id", "email_record", "email_summary", "event_record", "find_row", "next_id"]

_ID_PREFIX = {"contacts": "CT", "emails": "EM", "events": "EV"}
# A world's own rows are numbered from these (CT-3001, EM-1001, EV-2001, a few dozen at most); rows an
# episode creates get numbers from the next 900, never those of the world's rows.
_ID_BASE = {"contacts": 3001, "emails": 1001, "events": 2001}
_CREATED_FIRST, _CREATED_COUNT = 99, 900


def _split(joined: str) -> list[str]:
    return joined.split(", ") if joined else []


def contact_record(row: sqlite3.Row) -> dict[str, Any]:
    """A contact: {id, name, email, phone, company, title}."""
    return {k: row[k] for k in ("id", "name", "email", "phone", "company", "title")}


def email_summary(row: sqlite3.Row) -> dict[str, Any]:
    """An email without its body: {id, folder, from, to, subject, sent_at}."""
    return {
        "id": row["id"],
        "folder": row["folder"],
        "from": row["sender"],
        "to": _split(row["recipients"]),
        "subject": row["subject"],
        "sent_at": row["sent_at"],
    }


def email_record(row: sqlite3.Row) -> dict[str, Any]:
    """A whole email: its summary, body and in_reply_to."""
    return {**email_summary(row), "body": row["body"], "in_reply_to": row["in_reply_to"]}


def event_record(row: sqlite3.Row) -> dict[str, Any]:
    """A calendar event: {id, title, date, start, end, attendees, status}."""
    return {
        "id": row["id"],
        "title": row["title"],
        "date": row["date"],
        "start": row["start_time"],
        "end": row["end_time"],
        "attendees": _split(row["attendees"]),
        "status": row["status"],
    }


@functools.lru_cache(maxsize=64)
def _created_numbers(seed: int, table: str) -> tuple[int, ...]:
    numbers = list(range(_ID_BASE[table] + _CREATED_FIRST, _ID_BASE[table] + _CREATED_FIRST + _CREATED_COUNT))
    random.Random(f"workplace created ids {seed} {table}").shuffle(numbers)
    return tuple(numbers)


def created_id(seed: int, table: str, index: int) -> str:
    """The id of the `index`-th row (from 0) an episode creates in `table` of the world of `seed`.

    Drawn from a shuffle seeded by the world, so the same seed and the same calls always give the
    same ids, but the id a task creates differs from world to world: an answer cannot hard-code it.
    """
    numbers = _created_numbers(seed, table)
    if index >= len(numbers):
        raise ToolError(f"This session has created {index} {table} already, the most one session may create.")
    return f"{_ID_PREFIX[table]}-{numbers[index]}"


def next_id(db: sqlite3.Connection, table: str) -> str:
    """Hand out the id of the next row `table` gets, from the world's seed and the rows created so far."""
    (seed,) = db.execute("SELECT next FROM counters WHERE kind = 'seed'").fetchone()
    (created,) = db.execute("SELECT next FROM counters WHERE kind = ?", (table,)).fetchone()
    new_id = created_id(seed, table, created)
    db.execute("UPDATE counters SET next = next + 1 WHERE kind = ?", (table,))
    return new_id


def find_row(db: sqlite3.Connection, table: str, row_id: str, hint: str) -> sqlite3.Row:
    """The row of `table` with id `row_id` (any case); refused with `hint` when there is none."""
    row: sqlite3.Row | None = db.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id.strip().upper(),)).fetchone()
    if row is None:
        raise ToolError(f"There is no {table[:-1]} with id {row_id!r}. {hint}")
    return row
