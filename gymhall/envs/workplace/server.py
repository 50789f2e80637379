"""`workplace`: an office assistant's sandbox: emails, a calendar and contacts in a per-session SQLite database.

Each session loads the world of its row's `world_seed` (see `world.py`) into its own in-memory
database; twelve tools read and change it. Verify replays the row's `ground_truth` calls on a fresh
copy of the same world and compares the tables with the session's (order-insensitive, ignoring ids,
case and spacing); the final answer must also name the row's `expected_answer`, a value the
episode's tool results showed. Reward is 1.0 when all three hold, else 0.0.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from gymhall import (
    BaseResourcesServerConfig,
    BaseSeedSessionRequest,
    BaseVerifyRequest,
    Environment,
    InvalidBody,
    SessionNotFound,
    ToolError,
    tool,
)
from gymhall.envs.workplace.world import (
    NOW,
    TABLES,
    USER_EMAIL,
    Snapshot,
    generate_world,
    minutes,
    open_database,
    snapshot,
)

__all__ = [
    "GroundTruthCall",
    "Workplace",
    "WorkplaceConfig",
    "WorkplaceRow",
    "WorkplaceState",
    "WorkplaceVerifyRequest",
    "strings_in",
]

R = TypeVar("R")

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ID_PREFIX = {"contacts": "CT", "emails": "EM", "events": "EV"}


class WorkplaceConfig(BaseResourcesServerConfig):
    """Settings of the workplace environment."""

    max_results: int = Field(default=20, gt=0)  # rows a search or listing returns at most


class WorkplaceRow(BaseSeedSessionRequest):
    """The row fields seeding reads: which world the session starts in."""

    world_seed: int


class GroundTruthCall(BaseModel):
    """One call of a row's ground truth; `arguments` is JSON text (NeMo Gym's form) or an object."""

    name: str
    arguments: str | dict[str, Any]


class WorkplaceVerifyRequest(BaseVerifyRequest):
    """The row fields verify reads, beside the episode's response."""

    world_seed: int
    ground_truth: list[GroundTruthCall]
    expected_answer: str


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

    def check_open(self) -> None:
        """Refuse use after close (a call racing its session's close); call with `lock` held."""
        if self.closed:
            raise SessionNotFound("This session was closed while the call waited. Start a new one.")


def _text(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise ToolError(f"{what} must not be empty.")
    return value


def _address(value: str) -> str:
    address = value.strip().lower()
    if not _EMAIL.match(address):
        raise ToolError(f"{value!r} is not an email address (expected name@domain.tld).")
    return address


def _addresses(values: list[str], what: str, *, allow_empty: bool) -> str:
    addresses = sorted({_address(v) for v in values})
    if not addresses and not allow_empty:
        raise ToolError(f"{what} needs at least one email address.")
    return ", ".join(addresses)


def _date(value: str) -> str:
    value = value.strip()
    try:
        if _DATE.match(value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ToolError(f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2024-05-14.")


def _slot(start: str, end: str) -> tuple[str, str]:
    for value in (start, end):
        if not _TIME.match(value.strip()):
            raise ToolError(f"{value!r} is not a time; use 24-hour HH:MM, e.g. 09:30 or 14:00.")
    start, end = start.strip(), end.strip()
    if minutes(end) <= minutes(start):
        raise ToolError(f"The event must end after it starts (start {start}, end {end}).")
    return start, end


def _split(joined: str) -> list[str]:
    return joined.split(", ") if joined else []


def _contact(row: sqlite3.Row) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "name", "email", "phone", "company", "title")}


def _email_summary(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "folder": row["folder"],
        "from": row["sender"],
        "to": _split(row["recipients"]),
        "subject": row["subject"],
        "sent_at": row["sent_at"],
    }


def _email(row: sqlite3.Row) -> dict[str, Any]:
    return {**_email_summary(row), "body": row["body"], "in_reply_to": row["in_reply_to"]}


def _event(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "date": row["date"],
        "start": row["start_time"],
        "end": row["end_time"],
        "attendees": _split(row["attendees"]),
        "status": row["status"],
    }


def _next_id(db: sqlite3.Connection, table: str) -> str:
    (number,) = db.execute("SELECT next FROM counters WHERE kind = ?", (table,)).fetchone()
    db.execute("UPDATE counters SET next = next + 1 WHERE kind = ?", (table,))
    return f"{_ID_PREFIX[table]}-{number}"


def _find(db: sqlite3.Connection, table: str, row_id: str, hint: str) -> sqlite3.Row:
    row: sqlite3.Row | None = db.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id.strip().upper(),)).fetchone()
    if row is None:
        raise ToolError(f"There is no {table[:-1]} with id {row_id!r}. {hint}")
    return row


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


class Workplace(Environment):
    """Emails, calendar and contacts of one office worker, in a per-session SQLite database.

    The tools change the database; verify compares it with the state the row's ground truth
    produces, and checks the final answer names the row's expected answer.
    """

    config_class = WorkplaceConfig
    domain = "agent"
    config: WorkplaceConfig

    async def seed_session(self, row: WorkplaceRow) -> WorkplaceState:
        return await asyncio.to_thread(self.new_state, row.world_seed)

    async def on_session_close(self, state: WorkplaceState | None) -> None:
        if state is not None:
            await asyncio.to_thread(state.close)

    @staticmethod
    def new_state(seed: int) -> WorkplaceState:
        """A state holding a fresh database of the world of `seed`."""
        db = open_database(generate_world(seed))
        db.row_factory = sqlite3.Row
        return WorkplaceState(seed, db)

    def _run(self, state: WorkplaceState, operation: Callable[[sqlite3.Connection], R]) -> R:
        """Run one tool's operation as one transaction: a refused call changes nothing."""
        with state.lock:
            state.check_open()
            state.calls += 1
            try:
                with state.db:
                    result = operation(state.db)
            except ToolError:
                state.errors += 1
                raise
            state.observed.append(result)
        return result

    # Contacts

    @tool
    def find_contact(self, state: WorkplaceState, name: str) -> dict[str, Any]:
        """Find contacts whose name or email address contains `name` (case-insensitive).

        Returns {"contacts": [{id, name, email, phone, company, title}, ...]}.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            needle = _text(name, "name").lower()
            rows = db.execute(
                "SELECT * FROM contacts WHERE instr(lower(name), ?) OR instr(lower(email), ?) ORDER BY name LIMIT ?",
                (needle, needle, self.config.max_results),
            ).fetchall()
            return {"contacts": [_contact(r) for r in rows]}

        return self._run(state, run)

    @tool
    def add_contact(self, state: WorkplaceState, name: str, email: str, phone: str) -> dict[str, Any]:
        """Add a contact to the address book. Returns the new contact {id, name, email, phone, company, title}."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            address = _address(email)
            taken = db.execute("SELECT id FROM contacts WHERE email = ?", (address,)).fetchone()
            if taken is not None:
                raise ToolError(f"{address} already belongs to contact {taken['id']}; use update_contact to change it.")
            contact_id = _next_id(db, "contacts")
            values = (contact_id, _text(name, "name"), address, _text(phone, "phone"))
            db.execute("INSERT INTO contacts VALUES (?, ?, ?, ?, '', '')", values)
            return _contact(_find(db, "contacts", contact_id, ""))

        return self._run(state, run)

    @tool
    def update_contact(
        self,
        state: WorkplaceState,
        contact_id: str,
        email: str | None = None,
        phone: str | None = None,
        job_title: str | None = None,
    ) -> dict[str, Any]:
        """Change a contact's email, phone or job title; pass null for a field to leave it unchanged.

        Returns the updated contact {id, name, email, phone, company, title}.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            changes: dict[str, str] = {}
            if email is not None:
                changes["email"] = _address(email)
            if phone is not None:
                changes["phone"] = _text(phone, "phone")
            if job_title is not None:
                changes["title"] = _text(job_title, "job_title")
            if not changes:
                raise ToolError("Nothing to change: give a new email, phone or job_title (the others null).")
            row = _find(db, "contacts", contact_id, "Use find_contact to look up contact ids.")
            if "email" in changes:
                owner = db.execute(
                    "SELECT id FROM contacts WHERE email = ? AND id != ?", (changes["email"], row["id"])
                ).fetchone()
                if owner is not None:
                    raise ToolError(f"{changes['email']} already belongs to contact {owner['id']}.")
            assignments = ", ".join(f"{column} = ?" for column in changes)
            db.execute(f"UPDATE contacts SET {assignments} WHERE id = ?", (*changes.values(), row["id"]))
            return _contact(_find(db, "contacts", row["id"], ""))

        return self._run(state, run)

    # Email

    @tool
    def search_emails(
        self, state: WorkplaceState, query: str, folder: Literal["inbox", "sent", "all"] = "all"
    ) -> dict[str, Any]:
        """Search emails whose subject, body, sender or recipients contain `query` (case-insensitive).

        An empty query lists the whole folder. Newest first. Returns {"emails": [{id, folder, from, to,
        subject, sent_at}, ...], "total": number of matches}; read_email gives an email's body.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            needle = query.strip().lower()
            where = "(instr(lower(subject), ?) OR instr(lower(body), ?) OR instr(sender, ?) OR instr(recipients, ?))"
            parameters: list[Any] = [needle] * 4
            if folder != "all":
                where += " AND folder = ?"
                parameters.append(folder)
            rows = db.execute(f"SELECT * FROM emails WHERE {where} ORDER BY sent_at DESC, id DESC", parameters)
            matches = rows.fetchall()
            return {"emails": [_email_summary(r) for r in matches[: self.config.max_results]], "total": len(matches)}

        return self._run(state, run)

    @tool
    def read_email(self, state: WorkplaceState, email_id: str) -> dict[str, Any]:
        """Read one email. Returns {id, folder, from, to, subject, sent_at, body, in_reply_to}."""
        return self._run(
            state, lambda db: _email(_find(db, "emails", email_id, "Use search_emails to find email ids."))
        )

    @tool
    def send_email(self, state: WorkplaceState, to: list[str], subject: str, body: str) -> dict[str, Any]:
        """Send an email from the user's address to the given addresses. Returns the sent email, with its id."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            recipients = _addresses(to, "to", allow_empty=False)
            values = (recipients, _text(subject, "subject"), _text(body, "body"))
            email_id = _next_id(db, "emails")
            db.execute(
                "INSERT INTO emails VALUES (?, 'sent', ?, ?, ?, ?, ?, NULL)", (email_id, USER_EMAIL, *values, NOW)
            )
            return _email(_find(db, "emails", email_id, ""))

        return self._run(state, run)

    @tool
    def reply_email(self, state: WorkplaceState, email_id: str, body: str) -> dict[str, Any]:
        """Reply to the sender of an inbox email (subject "Re: ..."). Returns the sent reply, with its id."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            text = _text(body, "body")
            original = _find(db, "emails", email_id, "Use search_emails to find email ids.")
            if original["folder"] != "inbox":
                folder = original["folder"]
                raise ToolError(f"{original['id']} is in the {folder!r} folder; reply to inbox emails only.")
            subject = original["subject"]
            subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
            reply_id = _next_id(db, "emails")
            db.execute(
                "INSERT INTO emails VALUES (?, 'sent', ?, ?, ?, ?, ?, ?)",
                (reply_id, USER_EMAIL, original["sender"], subject, text, NOW, original["id"]),
            )
            return _email(_find(db, "emails", reply_id, ""))

        return self._run(state, run)

    @tool
    def delete_email(self, state: WorkplaceState, email_id: str) -> dict[str, Any]:
        """Delete an email for good. Returns {"deleted": {id, folder, from, to, subject, sent_at}}."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            row = _find(db, "emails", email_id, "Use search_emails to find email ids.")
            db.execute("DELETE FROM emails WHERE id = ?", (row["id"],))
            return {"deleted": _email_summary(row)}

        return self._run(state, run)

    # Calendar

    @tool
    def list_events(self, state: WorkplaceState, date: str) -> dict[str, Any]:
        """List the calendar events of one day (YYYY-MM-DD), by start time, cancelled ones included.

        Returns {"date": ..., "events": [{id, title, date, start, end, attendees, status}, ...]}.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            day = _date(date)
            rows = db.execute(
                "SELECT * FROM events WHERE date = ? ORDER BY start_time, id LIMIT ?", (day, self.config.max_results)
            ).fetchall()
            return {"date": day, "events": [_event(r) for r in rows]}

        return self._run(state, run)

    @tool
    def create_event(
        self, state: WorkplaceState, event_title: str, date: str, start: str, end: str, attendees: list[str]
    ) -> dict[str, Any]:
        """Add an event to the calendar: date YYYY-MM-DD, start and end HH:MM (24-hour), attendees' addresses.

        Refused if it overlaps a confirmed event. Returns the new event {id, title, date, start, end,
        attendees, status}.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            name, day, (begin, finish) = _text(event_title, "event_title"), _date(date), _slot(start, end)
            people = _addresses(attendees, "attendees", allow_empty=True)
            _check_free(db, day, begin, finish)
            event_id = _next_id(db, "events")
            values = (event_id, name, day, begin, finish, people)
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, 'confirmed')", values)
            return _event(_find(db, "events", event_id, ""))

        return self._run(state, run)

    @tool
    def cancel_event(self, state: WorkplaceState, event_id: str) -> dict[str, Any]:
        """Cancel a calendar event (it stays listed with status "cancelled"). Returns the event."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            row = _find(db, "events", event_id, "Use list_events to find event ids.")
            if row["status"] == "cancelled":
                raise ToolError(f"{row['id']} is already cancelled.")
            db.execute("UPDATE events SET status = 'cancelled' WHERE id = ?", (row["id"],))
            return _event(_find(db, "events", row["id"], ""))

        return self._run(state, run)

    @tool
    def reschedule_event(self, state: WorkplaceState, event_id: str, date: str, start: str, end: str) -> dict[str, Any]:
        """Move a confirmed event to a new date (YYYY-MM-DD) and start/end times (HH:MM).

        Refused if the new time overlaps another confirmed event. Returns the moved event.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            day, (begin, finish) = _date(date), _slot(start, end)
            row = _find(db, "events", event_id, "Use list_events to find event ids.")
            if row["status"] == "cancelled":
                raise ToolError(f"{row['id']} is cancelled; create a new event instead.")
            _check_free(db, day, begin, finish, ignore=row["id"])
            db.execute(
                "UPDATE events SET date = ?, start_time = ?, end_time = ? WHERE id = ?",
                (day, begin, finish, row["id"]),
            )
            return _event(_find(db, "events", row["id"], ""))

        return self._run(state, run)

    # Grading

    async def verify(self, state: WorkplaceState | None, body: WorkplaceVerifyRequest) -> dict[str, float]:
        """Reward 1.0 when the database matches the ground truth's and the answer names the expected value.

        Without a session (stateless reverify), the response's own tool calls are replayed on a
        fresh world in place of the session's database.
        """
        return await asyncio.to_thread(self._grade, state, body)

    def _grade(self, state: WorkplaceState | None, body: WorkplaceVerifyRequest) -> dict[str, float]:
        expected = self._expected(body)
        if state is None:
            state = self.new_state(body.world_seed)
            try:
                self.replay(state, _response_calls(body.response.output), strict=False)
                actual, observed, calls, errors = snapshot(state.db), state.observed, state.calls, state.errors
            finally:
                state.close()
        else:
            with state.lock:
                state.check_open()
                actual, observed = snapshot(state.db), list(state.observed)
                calls, errors = state.calls, state.errors
        differing = _differing_rows(expected, actual)
        answer = _mentions(_final_text(body.response.output), body.expected_answer)
        needle = _normalized(body.expected_answer)
        grounded = bool(needle) and any(needle in _normalized(text) for text in strings_in(observed))
        return {
            "reward": float(differing == 0 and answer and grounded),
            "state_match": float(differing == 0),
            "answer_match": float(answer),
            "answer_grounded": float(grounded),
            "differing_rows": float(differing),
            "tool_calls": float(calls),
            "tool_errors": float(errors),
        }

    def _expected(self, body: WorkplaceVerifyRequest) -> Snapshot:
        state = self.new_state(body.world_seed)
        try:
            self.replay(state, ((call.name, call.arguments) for call in body.ground_truth), strict=True)
            return snapshot(state.db)
        finally:
            state.close()

    def replay(self, state: WorkplaceState, calls: Iterable[tuple[str, Any]], *, strict: bool) -> list[Any]:
        """Make `calls` (tool name, arguments as JSON text or a mapping) on `state`, as the HTTP routes would.

        Returns each call's result (None for a refused one). With `strict`, a call that is refused
        raises `InvalidBody`: the ground truth of a row must apply cleanly to its world.
        """
        specs = {spec.name: spec for spec in self.tools()}
        results: list[Any] = []
        for number, (name, arguments) in enumerate(calls, start=1):
            counted = False  # whether the tool itself ran, and so counted the call
            try:
                spec = specs.get(name)
                if spec is None:
                    raise ValueError(f"there is no tool named {name!r}")
                parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
                kwargs = spec.call_arguments(spec.args_model.model_validate(parsed))
                counted = True
                results.append(spec.function(self, state=state, **kwargs))
            except (ToolError, ValueError, TypeError) as exc:
                if strict:
                    raise InvalidBody(
                        f"ground_truth call {number} ({name}) does not apply to world {state.seed}: {exc} "
                        "Fix the row's ground_truth."
                    ) from None
                if not counted:
                    with state.lock:
                        state.calls += 1
                        state.errors += 1
                results.append(None)
        return results


def _response_calls(output: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    for item in output:
        if getattr(item, "type", None) == "function_call":
            yield str(getattr(item, "name", "")), getattr(item, "arguments", "{}")


def _final_text(output: list[Any]) -> str:
    """The text of the episode's last assistant message ("" if there is none)."""
    for item in reversed(output):
        if getattr(item, "type", None) == "message" and getattr(item, "role", None) == "assistant":
            parts = getattr(item, "content", None) or []
            if isinstance(parts, str):
                return parts
            return "".join(str(getattr(p, "text", "") or "") for p in parts if getattr(p, "type", "") == "output_text")
    return ""


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def _mentions(text: str, expected: str) -> bool:
    """Whether `text` contains `expected` (normalized) as a whole token, not inside a longer word or number."""
    haystack, needle = _normalized(text), _normalized(expected)
    if not needle:
        return False
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        before = haystack[start - 1] if start else " "
        after = haystack[end] if end < len(haystack) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = haystack.find(needle, start + 1)
    return False


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (tool results), depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def _differing_rows(expected: Snapshot, actual: Snapshot) -> int:
    """Rows in one state and not the other (as multisets), summed over the compared tables."""
    total = 0
    for table in TABLES:
        want, have = Counter(expected.get(table, ())), Counter(actual.get(table, ()))
        total += sum(((want - have) + (have - want)).values())
    return total
