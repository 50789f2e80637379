"""`EventTools`: the workplace tools that list, create, cancel and move calendar events."""

from __future__ import annotations

import sqlite3
from typing import Any

from gymhall import Environment, ToolError, tool
from gymhall.envs.workplace.arguments import (
    Addresses,
    DateText,
    Identifier,
    TimeText,
    TitleText,
    email_addresses,
    iso_date,
    required_text,
    time_slot,
)
from gymhall.envs.workplace.config import WorkplaceConfig
from gymhall.envs.workplace.records import event_record, find_row, next_id
from gymhall.envs.workplace.state import WorkplaceState

__all__ = ["EventTools"]


def _check_free(db: sqlite3.Connection, day: str, start: str, end: str, ignore: str = "") -> None:
    clash = db.execute(
        "SELECT id, title, start_time, end_time FROM events WHERE date = ? AND status = 'confirmed' "
        "AND id != ? AND start_time < ? AND ? < end_time ORDER BY start_time",
        (day, ignore, end, start),
    ).fetchone()
    if clash is not None:
        raise ToolError(
            f"{day} {start}-{end} overlaps {clash['id']} {clash['title']!r} ({clash['start_time']}-"
            f"{clash['end_time']}). Choose a free time (list_events shows the day) or cancel that event first."
        )


class EventTools(Environment):
    """The calendar tools, mixed into `Workplace`; confirmed events may not overlap."""

    config: WorkplaceConfig

    @tool
    def list_events(self, state: WorkplaceState, date: DateText) -> dict[str, Any]:
        """List the calendar events of one day (YYYY-MM-DD), by start time, cancelled ones included.

        Returns {"date": ..., "events": [{id, title, date, start, end, attendees, status}, ...]}.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            day = iso_date(date)
            rows = db.execute(
                "SELECT * FROM events WHERE date = ? ORDER BY start_time, id LIMIT ?", (day, self.config.max_results)
            ).fetchall()
            return {"date": day, "events": [event_record(r) for r in rows]}

        return state.run(run)

    @tool
    def create_event(
        self,
        state: WorkplaceState,
        event_title: TitleText,
        date: DateText,
        start: TimeText,
        end: TimeText,
        attendees: Addresses,
    ) -> dict[str, Any]:
        """Add an event to the calendar: date YYYY-MM-DD, start and end HH:MM (24-hour), attendees' addresses.

        Refused if it overlaps a confirmed event. Returns the new event {id, title, date, start, end,
        attendees, status}.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            name, day, (begin, finish) = (
                required_text(event_title, "event_title"),
                iso_date(date),
                time_slot(start, end),
            )
            people = email_addresses(attendees, "attendees", allow_empty=True)
            _check_free(db, day, begin, finish)
            event_id = next_id(db, "events")
            values = (event_id, name, day, begin, finish, people)
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, 'confirmed')", values)
            return event_record(find_row(db, "events", event_id, ""))

        return state.run(run)

    @tool
    def cancel_event(self, state: WorkplaceState, event_id: Identifier) -> dict[str, Any]:
        """Cancel a calendar event (it stays listed with status "cancelled"). Returns the event."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            row = find_row(db, "events", event_id, "Use list_events to find event ids.")
            if row["status"] == "cancelled":
                raise ToolError(f"{row['id']} is already cancelled.")
            db.execute("UPDATE events SET status = 'cancelled' WHERE id = ?", (row["id"],))
            return event_record(find_row(db, "events", row["id"], ""))

        return state.run(run)

    @tool
    def reschedule_event(
        self, state: WorkplaceState, event_id: Identifier, date: DateText, start: TimeText, end: TimeText
    ) -> dict[str, Any]:
        """Move a confirmed event to a new date (YYYY-MM-DD) and start/end times (HH:MM).

        Refused if the new time overlaps another confirmed event. Returns the moved event.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            day, (begin, finish) = iso_date(date), time_slot(start, end)
            row = find_row(db, "events", event_id, "Use list_events to find event ids.")
            if row["status"] == "cancelled":
                raise ToolError(f"{row['id']} is cancelled; create a new event instead.")
            _check_free(db, day, begin, finish, ignore=row["id"])
            db.execute(
                "UPDATE events SET date = ?, start_time = ?, end_time = ? WHERE id = ?",
                (day, begin, finish, row["id"]),
            )
            return event_record(find_row(db, "events", row["id"], ""))

        return state.run(run)
