"""The workplace tools' argument types, and checking and normalizing their values.

The types carry a documented `maxLength` (`maxItems` for lists) into the tool schemas: a longer
value is refused by validation, a 422 naming the argument, before the tool runs, so nothing of it
is stored. A well-formed value the tool refuses raises `ToolError` saying how to fix it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import Field

from gymhall import ToolError
from gymhall.envs.workplace.world import minutes

__all__ = [
    "MAX_LENGTHS",
    "Addresses",
    "Body",
    "DateText",
    "EmailText",
    "Identifier",
    "NameText",
    "PhoneText",
    "QueryText",
    "SubjectText",
    "TimeText",
    "TitleText",
    "email_address",
    "email_addresses",
    "iso_date",
    "required_text",
    "time_slot",
]

#: The most characters (for `addresses`, list items) each kind of argument may have; the README lists them.
#: Generous for real use (a body of a few pages, an RFC 5321 address) and small enough that one session's
#: database stays small whatever a model sends.
MAX_LENGTHS = {
    "id": 40,
    "name": 100,
    "email": 254,
    "phone": 40,
    "query": 200,
    "subject": 200,
    "title": 200,
    "body": 5000,
    "date": 40,
    "time": 20,
    "addresses": 50,
}

Identifier = Annotated[str, Field(max_length=MAX_LENGTHS["id"])]
NameText = Annotated[str, Field(max_length=MAX_LENGTHS["name"])]
EmailText = Annotated[str, Field(max_length=MAX_LENGTHS["email"])]
PhoneText = Annotated[str, Field(max_length=MAX_LENGTHS["phone"])]
QueryText = Annotated[str, Field(max_length=MAX_LENGTHS["query"])]
SubjectText = Annotated[str, Field(max_length=MAX_LENGTHS["subject"])]
TitleText = Annotated[str, Field(max_length=MAX_LENGTHS["title"])]
Body = Annotated[str, Field(max_length=MAX_LENGTHS["body"])]
DateText = Annotated[str, Field(max_length=MAX_LENGTHS["date"])]
TimeText = Annotated[str, Field(max_length=MAX_LENGTHS["time"])]
Addresses = Annotated[list[EmailText], Field(max_length=MAX_LENGTHS["addresses"])]

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def required_text(value: str, what: str) -> str:
    """`value` stripped; refused when nothing is left."""
    value = value.strip()
    if not value:
        raise ToolError(f"{what} must not be empty.")
    return value


def email_address(value: str) -> str:
    """`value` as a lower-case email address."""
    address = value.strip().lower()
    if not _EMAIL.match(address):
        raise ToolError(f"{value!r} is not an email address (expected name@domain.tld).")
    return address


def email_addresses(values: list[str], what: str, *, allow_empty: bool) -> str:
    """`values` as the sorted, deduplicated, comma-separated list the database stores."""
    addresses = sorted({email_address(v) for v in values})
    if not addresses and not allow_empty:
        raise ToolError(f"{what} needs at least one email address.")
    return ", ".join(addresses)


def iso_date(value: str) -> str:
    """`value` as a valid YYYY-MM-DD date."""
    value = value.strip()
    try:
        if _DATE.match(value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ToolError(f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2024-05-14.")


def time_slot(start: str, end: str) -> tuple[str, str]:
    """`start` and `end` as HH:MM times, the end after the start."""
    for value in (start, end):
        if not _TIME.match(value.strip()):
            raise ToolError(f"{value!r} is not a time; use 24-hour HH:MM, e.g. 09:30 or 14:00.")
    start, end = start.strip(), end.strip()
    if minutes(end) <= minutes(start):
        raise ToolError(f"The event must end after it starts (start {start}, end {end}).")
    return start, end
