"""`ContactTools`: the workplace tools that look up and change the address book."""

from __future__ import annotations

import sqlite3
from typing import Any

from gymhall import Environment, ToolError, tool
from gymhall.envs.workplace.arguments import (
    EmailText,
    Identifier,
    NameText,
    PhoneText,
    TitleText,
    email_address,
    required_text,
)
from gymhall.envs.workplace.config import WorkplaceConfig
from gymhall.envs.workplace.records import contact_record, find_row, next_id
from gymhall.envs.workplace.state import WorkplaceState

__all__ = ["ContactTools"]


class ContactTools(Environment):
    """The contact tools, mixed into `Workplace`: find, add and update contacts."""

    config: WorkplaceConfig

    @tool
    def find_contact(self, state: WorkplaceState, name: NameText) -> dict[str, Any]:
        """Find contacts whose name or email address contains `name` (case-insensitive).

        Returns {"contacts": [{id, name, email, phone, company, title}, ...]}.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            needle = required_text(name, "name").lower()
            rows = db.execute(
                "SELECT * FROM contacts WHERE instr(lower(name), ?) OR instr(lower(email), ?) ORDER BY name LIMIT ?",
                (needle, needle, self.config.max_results),
            ).fetchall()
            return {"contacts": [contact_record(r) for r in rows]}

        return state.run(run)

    @tool
    def add_contact(self, state: WorkplaceState, name: NameText, email: EmailText, phone: PhoneText) -> dict[str, Any]:
        """Add a contact to the address book. Returns the new contact {id, name, email, phone, company, title}."""

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            address = email_address(email)
            taken = db.execute("SELECT id FROM contacts WHERE email = ?", (address,)).fetchone()
            if taken is not None:
                raise ToolError(f"{address} already belongs to contact {taken['id']}; use update_contact to change it.")
            contact_id = next_id(db, "contacts")
            values = (contact_id, required_text(name, "name"), address, required_text(phone, "phone"))
            db.execute("INSERT INTO contacts VALUES (?, ?, ?, ?, '', '')", values)
            return contact_record(find_row(db, "contacts", contact_id, ""))

        return state.run(run)

    @tool
    def update_contact(
        self,
        state: WorkplaceState,
        contact_id: Identifier,
        email: EmailText | None = None,
        phone: PhoneText | None = None,
        job_title: TitleText | None = None,
    ) -> dict[str, Any]:
        """Change a contact's email, phone or job title; pass null for a field to leave it unchanged.

        Returns the updated contact {id, name, email, phone, company, title}.
        """

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            changes: dict[str, str] = {}
            if email is not None:
                changes["email"] = email_address(email)
            if phone is not None:
                changes["phone"] = required_text(phone, "phone")
            if job_title is not None:
                changes["title"] = required_text(job_title, "job_title")
            if not changes:
                raise ToolError("Nothing to change: give a new email, phone or job_title (the others null).")
            row = find_row(db, "contacts", contact_id, "Use find_contact to look up contact ids.")
            if "email" in changes:
                owner = db.execute(
                    "SELECT id FROM contacts WHERE email = ? AND id != ?", (changes["email"], row["id"])
                ).fetchone()
                if owner is not None:
                    raise ToolError(f"{changes['email']} already belongs to contact {owner['id']}.")
            assignments = ", ".join(f"{column} = ?" for column in changes)
            db.execute(f"UPDATE contacts SET {assignments} WHERE id = ?", (*changes.values(), row["id"]))
            return contact_record(find_row(db, "contacts", row["id"], ""))

        return state.run(run)
