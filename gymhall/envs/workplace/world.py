"""The workplace world: an office's contacts, emails and calendar, generated from a seed, in SQLite.

`generate_world(seed)` makes the same world for the same seed on every machine (only
`random.Random(seed)` and fixed dates are used, never the clock); `open_database` loads a world
into a fresh in-memory SQLite database; `snapshot` reads back what verify compares.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

__all__ = [
    "NOW",
    "TABLES",
    "USER_EMAIL",
    "USER_NAME",
    "WEEK",
    "Contact",
    "Email",
    "Event",
    "Proposal",
    "Snapshot",
    "World",
    "generate_world",
    "hhmm",
    "minutes",
    "open_database",
    "snapshot",
    "weekday",
]

USER_NAME = "Alex Morgan"
USER_EMAIL = "alex.morgan@lumenworks.example"
#: The world's fixed "now": every email sent during an episode is stamped with it.
NOW = "2024-05-13 08:30"
#: The working week the calendar covers (Monday to Friday).
WEEK = ("2024-05-13", "2024-05-14", "2024-05-15", "2024-05-16", "2024-05-17")

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_START, _DAY_END = 9 * 60, 17 * 60 + 30  # seeded events fall between 09:00 and 17:30

_FIRST_NAMES = (
    "Priya Dana Marcus Elena Tobias Amara Jonah Keiko Rafael Ingrid Samir Lucia Owen Freya Mateo Nadia "
    "Viktor Chloe Darius Hana Felix Imogen Kofi Leila Bruno Sienna Tariq Yara Gideon Mei Anders Zoe "
    "Emeka Clara Hugo Anika Ruben Talia Quentin Esme"
).split()
_LAST_NAMES = (
    "Raman Whitfield Okafor Lindqvist Brandt Castillo Nakamura Oyelaran Petrov Haddad Moreau Kowalski "
    "Fairbanks Delacroix Sandoval Achterberg Mwangi Holloway Ferreira Takahashi Villanueva Ashworth "
    "Novak Quispe Eriksen Abernathy Rosales Iwasaki Lambert Osei Thornbury Valdez Kaur Gallagher "
    "Bergstrom Ncube Pellegrini Hargreave Sorensen Yilmaz"
).split()
_COMPANIES = (
    ("Lumenworks", "lumenworks.example"),
    ("Brightline Logistics", "brightline.example"),
    ("Cobalt Health", "cobalthealth.example"),
    ("Fernwood Analytics", "fernwood.example"),
    ("Harbor & Finch", "harborfinch.example"),
    ("Quillstone Media", "quillstone.example"),
)
_TITLES = (
    "Account Manager",
    "Data Analyst",
    "Engineering Lead",
    "Finance Director",
    "Head of Sales",
    "Legal Counsel",
    "Marketing Manager",
    "Operations Coordinator",
    "Product Manager",
    "Recruiter",
    "Security Engineer",
    "UX Designer",
)
_SUBJECTS = (
    "Q2 budget review",
    "Vendor contract renewal",
    "Offsite agenda draft",
    "Onboarding plan for new hires",
    "Website redesign feedback",
    "Quarterly sales figures",
    "Security audit findings",
    "Customer survey results",
    "Travel reimbursement",
    "Product roadmap update",
    "Hiring panel schedule",
    "Office move logistics",
    "Data retention policy",
    "Partnership proposal",
    "Invoice 4471 discrepancy",
    "Marketing launch checklist",
    "Support ticket backlog",
    "Conference talk submission",
    "Team lunch on Friday",
    "Server maintenance window",
    "Training budget request",
    "Press release review",
    "Pricing model questions",
    "Warehouse inventory count",
    "Accessibility review",
    "Annual report layout",
    "Mentorship program",
    "Quality metrics for April",
    "Contract signature needed",
    "Board meeting prep",
)
_EVENT_TITLES = (
    "Sprint planning",
    "Design review",
    "Budget check-in",
    "Hiring sync",
    "Marketing standup",
    "Architecture review",
    "Quarterly business review",
    "Vendor demo",
    "Product demo rehearsal",
    "Legal review",
    "Roadmap workshop",
    "Team retrospective",
    "Security briefing",
    "Ops handover",
    "Analytics deep dive",
    "Partner check-in",
    "Finance sync",
    "Customer onboarding call",
    "Lunch and learn",
    "Leadership update",
)
_DETAILS = (
    "the numbers are in the shared folder.",
    "we are on track for the end of the month.",
    "two items still need your sign-off.",
    "I have a few open questions we should settle soon.",
    "legal has reviewed the draft and has no objections.",
    "the latest version is attached for your comments.",
)

#: The compared tables and their columns, `id` first; verify ignores `id` (see `snapshot`).
TABLES: Mapping[str, tuple[str, ...]] = {
    "contacts": ("id", "name", "email", "phone", "company", "title"),
    "emails": ("id", "folder", "sender", "recipients", "subject", "body", "sent_at", "in_reply_to"),
    "events": ("id", "title", "date", "start_time", "end_time", "attendees", "status"),
}

_SCHEMA = """
CREATE TABLE contacts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, phone TEXT NOT NULL,
    company TEXT NOT NULL, title TEXT NOT NULL
);
CREATE TABLE emails (
    id TEXT PRIMARY KEY, folder TEXT NOT NULL, sender TEXT NOT NULL, recipients TEXT NOT NULL,
    subject TEXT NOT NULL, body TEXT NOT NULL, sent_at TEXT NOT NULL, in_reply_to TEXT
);
CREATE TABLE events (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT NOT NULL, start_time TEXT NOT NULL,
    end_time TEXT NOT NULL, attendees TEXT NOT NULL, status TEXT NOT NULL
);
CREATE TABLE counters (kind TEXT PRIMARY KEY, next INTEGER NOT NULL);
"""

#: A table's rows without their ids, normalized and sorted: what verify compares.
Snapshot = dict[str, tuple[tuple[str, ...], ...]]


@dataclass(frozen=True)
class Contact:
    """A person in the address book."""

    id: str
    name: str
    email: str
    phone: str
    company: str
    title: str


@dataclass(frozen=True)
class Email:
    """An email in the inbox (received) or the sent folder."""

    id: str
    folder: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    sent_at: str
    in_reply_to: str | None = None


@dataclass(frozen=True)
class Event:
    """A calendar event on one day of `WEEK`; times are HH:MM."""

    id: str
    title: str
    date: str
    start: str
    end: str
    attendees: tuple[str, ...]
    status: str = "confirmed"


@dataclass(frozen=True)
class Proposal:
    """A meeting an inbox email proposes; its slot is free in the calendar."""

    email_id: str
    date: str
    start: str
    end: str


@dataclass(frozen=True)
class World:
    """Everything a seed determines."""

    seed: int
    contacts: tuple[Contact, ...]
    emails: tuple[Email, ...]
    events: tuple[Event, ...]
    proposals: tuple[Proposal, ...]

    def contact_by_email(self, address: str) -> Contact:
        """The contact whose address is `address`."""
        return next(c for c in self.contacts if c.email == address)


def minutes(hhmm: str) -> int:
    """Minutes since midnight of an HH:MM time."""
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


def hhmm(total: int) -> str:
    """The HH:MM time `total` minutes after midnight."""
    return f"{total // 60:02d}:{total % 60:02d}"


def weekday(iso_date: str) -> str:
    """The English weekday name of a YYYY-MM-DD date (not locale-dependent)."""
    return _WEEKDAYS[date.fromisoformat(iso_date).weekday()]


def _overlaps(day: str, start: int, end: int, taken: list[tuple[str, int, int]]) -> bool:
    return any(d == day and start < e and s < end for d, s, e in taken)


def _free_slot(rng: random.Random, days: tuple[str, ...], taken: list[tuple[str, int, int]]) -> tuple[str, int, int]:
    while True:
        day = rng.choice(days)
        length = rng.choice((30, 60, 60, 90))
        start = rng.randrange(_DAY_START, _DAY_END - length + 1, 30)
        if not _overlaps(day, start, start + length, taken):
            return day, start, start + length


@functools.lru_cache(maxsize=512)
def generate_world(seed: int) -> World:
    """The world of `seed`: 12 contacts, 16 emails (4 proposing meetings, 3 sent) and 10 events."""
    rng = random.Random(seed)
    firsts = rng.sample(_FIRST_NAMES, 12)
    lasts = rng.sample(_LAST_NAMES, 12)
    phones = rng.sample(range(100), 12)
    contacts = []
    for index, (first, last, phone) in enumerate(zip(firsts, lasts, phones, strict=True)):
        company, domain = rng.choice(_COMPANIES)
        contacts.append(
            Contact(
                id=f"CT-{3001 + index}",
                name=f"{first} {last}",
                email=f"{first.lower()}.{last.lower()}@{domain}",
                phone=f"+1-555-01{phone:02d}",
                company=company,
                title=rng.choice(_TITLES),
            )
        )

    taken: list[tuple[str, int, int]] = []
    drafts = []
    for title in rng.sample(_EVENT_TITLES, 10):
        day, start, end = _free_slot(rng, WEEK, taken)
        taken.append((day, start, end))
        attendees = tuple(sorted(c.email for c in rng.sample(contacts, rng.randint(1, 3))))
        drafts.append((day, start, end, title, attendees))
    drafts.sort()
    events = tuple(
        Event(f"EV-{2001 + i}", title, day, hhmm(start), hhmm(end), attendees)
        for i, (day, start, end, title, attendees) in enumerate(drafts)
    )

    subjects = rng.sample(_SUBJECTS, 16)
    # Received or sent during the week before: 2024-05-06 .. 2024-05-12, 08:00 .. 18:59.
    stamps = rng.sample(range(7 * 660), 16)
    slots = []
    for _ in range(4):  # proposed meetings: Tuesday to Friday, free, and not on top of each other
        slot = _free_slot(rng, WEEK[1:], taken)
        taken.append(slot)
        slots.append(slot)
    letters: list[tuple[Email, tuple[str, int, int] | None]] = []  # ids are given in date order below
    for index, (subject, stamp) in enumerate(zip(subjects, stamps, strict=True)):
        sent_at = f"2024-05-{6 + stamp // 660:02d} {hhmm(8 * 60 + stamp % 660)}"
        contact = rng.choice(contacts)
        first = contact.name.split()[0]
        if index < 4:
            day, start, end = slots[index]
            body = (
                f"Hi Alex,\n\nCould we meet on {weekday(day)} {day} from {hhmm(start)} to {hhmm(end)} "
                f"to go over the {subject}?\n\nThanks,\n{first}"
            )
            letters.append((Email("", "inbox", contact.email, (USER_EMAIL,), subject, body, sent_at), slots[index]))
        elif index < 7:
            body = f"Hi {first},\n\nThanks for your help with the {subject}: {rng.choice(_DETAILS)}\n\nAlex"
            letters.append((Email("", "sent", USER_EMAIL, (contact.email,), subject, body, sent_at), None))
        else:
            body = f"Hi Alex,\n\nA short update on the {subject}: {rng.choice(_DETAILS)}\n\nBest,\n{first}"
            letters.append((Email("", "inbox", contact.email, (USER_EMAIL,), subject, body, sent_at), None))
    letters.sort(key=lambda letter: letter[0].sent_at)
    emails, proposals = [], []
    for index, (draft, proposed) in enumerate(letters):
        email = dataclasses.replace(draft, id=f"EM-{1001 + index}")
        emails.append(email)
        if proposed is not None:
            day, start, end = proposed
            proposals.append(Proposal(email.id, day, hhmm(start), hhmm(end)))
    return World(seed, tuple(contacts), tuple(emails), events, tuple(proposals))


def open_database(world: World) -> sqlite3.Connection:
    """A new in-memory database holding `world`.

    The connection may be used from any thread (tools run in a threadpool); its users serialize
    access themselves.
    """
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.executescript(_SCHEMA)
    with db:
        db.executemany(
            "INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?)",
            [(c.id, c.name, c.email, c.phone, c.company, c.title) for c in world.contacts],
        )
        db.executemany(
            "INSERT INTO emails VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (e.id, e.folder, e.sender, ", ".join(e.recipients), e.subject, e.body, e.sent_at, e.in_reply_to)
                for e in world.emails
            ],
        )
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(e.id, e.title, e.date, e.start, e.end, ", ".join(e.attendees), e.status) for e in world.events],
        )
        db.executemany(
            "INSERT INTO counters VALUES (?, ?)",
            # How many rows of each table the episode created (`records.next_id`), and the world's seed.
            [("contacts", 0), ("emails", 0), ("events", 0), ("seed", world.seed)],
        )
    return db


def _normalized(value: object) -> str:
    # Case and spacing are not what a task is about (NeMo Gym's workplace verify also ignores case).
    # NULL (only `in_reply_to` has it) reads as "", so rows stay sortable.
    return "" if value is None else " ".join(str(value).casefold().split())


def snapshot(db: sqlite3.Connection) -> Snapshot:
    """The compared tables' rows, without ids (created rows get ids in call order), normalized and sorted."""
    state: Snapshot = {}
    for table, columns in TABLES.items():
        rows = db.execute(f"SELECT {', '.join(columns[1:])} FROM {table}").fetchall()
        state[table] = tuple(sorted(tuple(_normalized(v) for v in row) for row in rows))
    return state
