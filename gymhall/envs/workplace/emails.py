"""`EmailTools`: the workplace tools that search, read, send, answer and delete emails."""

from __future__ import annotations

import sqlite3
from typing import Any, Literal

from gymhall import Environment, ToolError, tool
from gymhall.envs.workplace.arguments import (
    Addresses,
    Body,
    Identifier,
    QueryText,
    SubjectText,
    email_addresses,
    required_text,
)
from gymhall.envs.workplace.config import WorkplaceConfig
from gymhall.envs.workplace.records import email_record, email_summary, find_row, next_id
from gymhall.envs.workplace.state import WorkplaceState
from gymhall.envs.workplace.world import NOW, USER_EMAIL

__all__ = ["EmailTools"]


class EmailTools(Environment):
    """The email tools, mixed into `Workplace`; mail the user sends is dated `NOW`, from `USER_EMAIL`."""

    config: WorkplaceConfig

    @tool
    def search_emails(
        self, state: WorkplaceState, query: QueryText, folder: Literal["inbox", "sent", "all"] = "all"
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
            return {"emails": [email_summary(r) for r in matches[: self.config.max_results]], "total": len(matches)}

        return state.run(run)

    @tool
    def read_email(self, state: WorkplaceState, email_id: Identifier) -> dict[str, Any]:
        """Read one email. Returns {id, folder, from, to, subject, sent_at, body, in_reply_to}."""
        return state.run(
            lambda db: email_record(find_row(db, "emails", email_id, "Use search_emails to find email ids."))
        )

    @tool
    def send_email(self, state: WorkplaceState, to: Addresses, subject: SubjectText, body: Body) -> dict[str, Any]:
        """Send an email from the user's address to the given addresses. Returns the sent email, with its id."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            recipients = email_addresses(to, "to", allow_empty=False)
            values = (recipients, required_text(subject, "subject"), required_text(body, "body"))
            email_id = next_id(db, "emails")
            db.execute(
                "INSERT INTO emails VALUES (?, 'sent', ?, ?, ?, ?, ?, NULL)", (email_id, USER_EMAIL, *values, NOW)
            )
            return email_record(find_row(db, "emails", email_id, ""))

        return state.run(run)

    @tool
    def reply_email(self, state: WorkplaceState, email_id: Identifier, body: Body) -> dict[str, Any]:
        """Reply to the sender of an inbox email (subject "Re: ..."). Returns the sent reply, with its id."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            text = required_text(body, "body")
            original = find_row(db, "emails", email_id, "Use search_emails to find email ids.")
            if original["folder"] != "inbox":
                folder = original["folder"]
                raise ToolError(f"{original['id']} is in the {folder!r} folder; reply to inbox emails only.")
            subject = original["subject"]
            subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
            reply_id = next_id(db, "emails")
            db.execute(
                "INSERT INTO emails VALUES (?, 'sent', ?, ?, ?, ?, ?, ?)",
                (reply_id, USER_EMAIL, original["sender"], subject, text, NOW, original["id"]),
            )
            return email_record(find_row(db, "emails", reply_id, ""))

        return state.run(run)

    @tool
    def delete_email(self, state: WorkplaceState, email_id: Identifier) -> dict[str, Any]:
        """Delete an email for good. Returns {"deleted": {id, folder, from, to, subject, sent_at}}."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            row = find_row(db, "emails", email_id, "Use search_emails to find email ids.")
            db.execute("DELETE FROM emails WHERE id = ?", (row["id"],))
            return {"deleted": email_summary(row)}

        return state.run(run)
