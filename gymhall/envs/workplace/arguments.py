"""Checking and normalizing the workplace tools' arguments; a bad one raises `ToolError` saying how to fix it."""

from __future__ import annotations

import re
from datetime import date

from gymhall import ToolError
from gymhall.envs.workplace.world import minutes

__all__ = ["email_address", "email_addresses", "iso_date", "required_text", "time_slot"]

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
