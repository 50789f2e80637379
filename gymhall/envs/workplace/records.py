"""Database rows as the workplace tools show them, and the row lookups and ids the tools share."""

from __future__ import annotations

import sqlite3
from typing import Any

from gymhall import ToolError

__all__ = ["contact_record", "email_record", "email_summary", "event_record", "find_row", "next_id"]

_ID_PREFIX = {"contacts": "CT", "emails": "EM", "events": "EV"}


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


def next_id(db: sqlite3.Connection, table: str) -> str:
    """Hand out the next id of `table` (e.g. EM-42), as the world's counters say."""
    (number,) = db.execute("SELECT next FROM counters WHERE kind = ?", (table,)).fetchone()
    db.execute("UPDATE counters SET next = next + 1 WHERE kind = ?", (table,))
    return f"{_ID_PREFIX[table]}-{number}"


def find_row(db: sqlite3.Connection, table: str, row_id: str, hint: str) -> sqlite3.Row:
    """The row of `table` with id `row_id` (any case); refused with `hint` when there is none."""
    row: sqlite3.Row | None = db.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id.strip().upper(),)).fetchone()
    if row is None:
        raise ToolError(f"There is no {table[:-1]} with id {row_id!r}. {hint}")
    return row
