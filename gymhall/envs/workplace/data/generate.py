"""Generate `workplace.jsonl`: 528 tasks, each in its own seeded world, with ground truth and a reference solution.

    python gymhall/envs/workplace/data/generate.py           # rewrite workplace.jsonl beside this file
    python gymhall/envs/workplace/data/generate.py --check   # exit 1 if the file differs from what this makes

Sixteen task families, 33 rows each, in three difficulty tiers (`Task.difficulty`). Every row's
ground-truth calls are run through the environment's own tools while generating, so the expected
answer (an id the tools hand out, or a value looked up) is what the tools really return, and a
ground truth that does not apply fails here. A family may decline a world (`NoTask`): the row then
takes the next seed of the master stream.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymhall.envs.workplace.server import Workplace, strings_in
from gymhall.envs.workplace.world import (
    NOW,
    USER_EMAIL,
    USER_NAME,
    WEEK,
    Contact,
    Email,
    Event,
    World,
    generate_world,
    hhmm,
    minutes,
    weekday,
)

OUTPUT = Path(__file__).resolve().parent / "workplace.jsonl"
MASTER_SEED = 4
ROWS_PER_FAMILY = 33

SYSTEM_PROMPT = (
    f"You are the email and calendar assistant of {USER_NAME} <{USER_EMAIL}>. Today is "
    f"{weekday(NOW[:10])}, {NOW[:10]}, and it is {NOW[11:]}. Use the tools to look things up in and make "
    f"changes to {USER_NAME.split()[0]}'s emails, calendar and contacts; never guess an address, id or time "
    "that you can look up. Dates are YYYY-MM-DD and times 24-hour HH:MM. When the task is done, reply "
    "with one short message."
)

_NEW_SUBJECTS = (
    ("Slides for Thursday", "Please find my slides for Thursday in the shared folder; comments are welcome."),
    ("Lunch next week?", "Are you free for lunch next week? Tuesday or Wednesday would suit me."),
    ("Updated timeline", "The timeline moved by one week; the new dates are in the shared plan."),
    ("Follow-up on our call", "Thanks for the call today. I will send the summary by Friday."),
    ("Draft agenda", "Here is a first draft of the agenda; tell me what is missing."),
    ("Invoice question", "Could you confirm the invoice total before I approve it?"),
    ("Feedback on the proposal", "I read the proposal and I am happy with it; two small notes to follow."),
)
_REPLIES = (
    "Thanks, I will review it today.",
    "Got it, thank you for the update.",
    "Sounds good; let us discuss it at our next meeting.",
    "Thanks. Please send me the final version when it is ready.",
)
_CONFIRMATIONS = ("Confirmed, see you then.", "That works for me; it is in my calendar.")
_NEW_EVENTS = (
    "Project kickoff",
    "Contract walkthrough",
    "Interview debrief",
    "Campaign brainstorm",
    "Pricing review",
    "Client prep session",
    "Onboarding check-in",
    "Strategy chat",
)
_NEW_PEOPLE = (
    ("Wren Calloway", "brightline.example"),
    ("Idris Montague", "cobalthealth.example"),
    ("Saskia Lindgren", "fernwood.example"),
    ("Teodor Vance", "quillstone.example"),
    ("Maren Oduya", "harborfinch.example"),
    ("Caspian Reyes", "lumenworks.example"),
)
_GRID = 30  # meetings start on the hour or the half hour
_OPEN, _CLOSE = 9 * 60, 17 * 60 + 30


class NoTask(Exception):
    """The family cannot make a task in this world (e.g. no day whose first slot is taken)."""


@dataclass(frozen=True)
class Task:
    """One task: its prompt, the ground-truth calls and where its expected answer comes from."""

    category: str
    prompt: str
    calls: list[tuple[str, dict[str, Any]]]
    answer: str | tuple[int, str]  # a value, or (index of a call, key of that call's result)
    reply: str  # the reference final message; "{answer}" is replaced by the expected answer
    distractors: list[str]  # the other candidates of the answer's kind: naming one is hedging
    difficulty: str  # "easy": one lookup or one call; "medium": find, then change; "hard": several steps


def _others(values: Any, *exclude: str) -> list[str]:
    """The distinct `values` not in `exclude`, sorted: a row's distractors."""
    return sorted({str(v) for v in values} - set(exclude))


def _day(iso: str) -> str:
    return f"{weekday(iso)}, {iso}"


def _sender(world: World, email: Email) -> Contact:
    return world.contact_by_email(email.sender)


def _received(world: World) -> list[Email]:
    proposed = {p.email_id for p in world.proposals}
    return [e for e in world.emails if e.folder == "inbox" and e.id not in proposed]


def _busy(world: World, day: str, ignore: str = "") -> list[tuple[int, int]]:
    return [(minutes(e.start), minutes(e.end)) for e in world.events if e.date == day and e.id != ignore]


def _free_starts(world: World, day: str, length: int, *, close: int = _CLOSE, ignore: str = "") -> list[int]:
    busy = _busy(world, day, ignore)
    return [
        start
        for start in range(_OPEN, close - length + 1, _GRID)
        if not any(start < end and begin < start + length for begin, end in busy)
    ]


def _event_ids(world: World, *exclude: str) -> list[str]:
    return _others((e.id for e in world.events), *exclude)


def _email_ids(world: World, *exclude: str) -> list[str]:
    return _others((e.id for e in world.emails), *exclude)


def _contact_ids(world: World, *exclude: str) -> list[str]:
    return _others((c.id for c in world.contacts), *exclude)


def contact_phone(world: World, rng: random.Random) -> Task:
    person = rng.choice(world.contacts)
    return Task(
        "contact_lookup",
        f"What is {person.name}'s phone number? Look it up in my contacts and reply with the number exactly as stored.",
        [("find_contact", {"name": person.name})],
        person.phone,
        f"{person.name}'s phone number is {{answer}}.",
        _others((c.phone for c in world.contacts), person.phone),
        "easy",
    )


def email_sender(world: World, rng: random.Random) -> Task:
    email = rng.choice(_received(world))
    return Task(
        "email_lookup",
        f'Who sent me the email with the subject "{email.subject}"? Reply with the sender\'s email address.',
        [("search_emails", {"query": email.subject, "folder": "inbox"})],
        email.sender,
        "It was sent by {answer}.",
        _others((e.sender for e in world.emails if e.folder == "inbox"), email.sender),
        "easy",
    )


def event_start(world: World, rng: random.Random) -> Task:
    event = rng.choice(world.events)
    others = (e.start for e in world.events if e.date == event.date)
    return Task(
        "calendar_lookup",
        f'What time does "{event.title}" start on {_day(event.date)}? Check my calendar and reply with the '
        "start time as HH:MM.",
        [("list_events", {"date": event.date})],
        event.start,
        f'"{event.title}" starts at {{answer}}.',
        _others(others, event.start, event.end),  # its own end time is no hedge
        "easy",
    )


def send_email(world: World, rng: random.Random) -> Task:
    person = rng.choice(world.contacts)
    subject, body = rng.choice(_NEW_SUBJECTS)
    return Task(
        "email_send",
        f'Send {person.name} an email with the subject "{subject}" and the body "{body}" (find their address '
        "in my contacts). Then reply with the id of the email you sent.",
        [
            ("find_contact", {"name": person.name}),
            ("send_email", {"to": [person.email], "subject": subject, "body": body}),
        ],
        (1, "id"),
        "Sent: the email's id is {answer}.",
        _email_ids(world),
        "medium",
    )


def reply_email(world: World, rng: random.Random) -> Task:
    email = rng.choice(_received(world))
    text = rng.choice(_REPLIES)
    return Task(
        "email_reply",
        f'Reply to {_sender(world, email).name}\'s email about "{email.subject}" with the text "{text}". '
        "Then tell me the id of your reply.",
        [
            ("search_emails", {"query": email.subject, "folder": "inbox"}),
            ("reply_email", {"email_id": email.id, "body": text}),
        ],
        (1, "id"),
        "Replied; the reply's id is {answer}.",
        _email_ids(world, email.id),  # naming the email replied to is no hedge
        "medium",
    )


def delete_email(world: World, rng: random.Random) -> Task:
    email = rng.choice(_received(world))
    return Task(
        "email_delete",
        f'Delete the email from {_sender(world, email).name} with the subject "{email.subject}", then reply '
        "with the id of the email you deleted.",
        [
            ("search_emails", {"query": email.subject, "folder": "inbox"}),
            ("delete_email", {"email_id": email.id}),
        ],
        email.id,
        "Deleted email {answer}.",
        _email_ids(world, email.id),
        "medium",
    )


def create_event(world: World, rng: random.Random) -> Task:
    people = rng.sample(world.contacts, rng.randint(1, 2))
    length = rng.choice((30, 60))
    day = rng.choice(WEEK[1:])
    starts = _free_starts(world, day, length)
    if not starts:
        raise NoTask(f"no free {length}-minute slot on {day}")
    start = rng.choice(starts)
    title = rng.choice(_NEW_EVENTS)
    names = " and ".join(p.name for p in people)
    attendees = sorted(p.email for p in people)
    return Task(
        "calendar_create",
        f'Put a meeting called "{title}" in my calendar on {_day(day)} from {hhmm(start)} to '
        f"{hhmm(start + length)}, with {names} as attendees (look up their addresses in my contacts). "
        "Reply with the new event's id.",
        [
            *(("find_contact", {"name": p.name}) for p in people),
            (
                "create_event",
                {
                    "event_title": title,
                    "date": day,
                    "start": hhmm(start),
                    "end": hhmm(start + length),
                    "attendees": attendees,
                },
            ),
        ],
        (len(people), "id"),
        "Scheduled; the new event's id is {answer}.",
        _event_ids(world),
        "medium",
    )


def cancel_event(world: World, rng: random.Random) -> Task:
    event = rng.choice(world.events)
    return Task(
        "calendar_cancel",
        f'Cancel "{event.title}" on {_day(event.date)}, and reply with the id of the cancelled event.',
        [("list_events", {"date": event.date}), ("cancel_event", {"event_id": event.id})],
        event.id,
        "Cancelled event {answer}.",
        _event_ids(world, event.id),
        "medium",
    )


def _move(world: World, rng: random.Random) -> tuple[Event, str, int]:
    for _ in range(100):
        event = rng.choice(world.events)
        length = minutes(event.end) - minutes(event.start)
        day = rng.choice(WEEK)
        starts = [
            s for s in _free_starts(world, day, length, ignore=event.id) if (day, hhmm(s)) != (event.date, event.start)
        ]
        if starts:
            return event, day, rng.choice(starts)
    raise NoTask("no event can move")


def reschedule_event(world: World, rng: random.Random) -> Task:
    event, day, start = _move(world, rng)
    length = minutes(event.end) - minutes(event.start)
    return Task(
        "calendar_reschedule",
        f'Move "{event.title}" (on {_day(event.date)}) to {_day(day)} at {hhmm(start)}, keeping its length. '
        "Reply with the event's id.",
        [
            ("list_events", {"date": event.date}),
            (
                "reschedule_event",
                {"event_id": event.id, "date": day, "start": hhmm(start), "end": hhmm(start + length)},
            ),
        ],
        event.id,
        "Moved event {answer}.",
        _event_ids(world, event.id),
        "medium",
    )


def _unused_phone(world: World, rng: random.Random) -> str:
    used = {c.phone for c in world.contacts}
    return rng.choice([p for p in (f"+1-555-01{n:02d}" for n in range(100)) if p not in used])


def add_contact(world: World, rng: random.Random) -> Task:
    name, domain = rng.choice(_NEW_PEOPLE)
    first, last = name.lower().split()
    phone = _unused_phone(world, rng)
    email = f"{first}.{last}@{domain}"
    return Task(
        "contacts_add",
        f"Add a new contact: {name}, email {email}, phone {phone}. Reply with the new contact's id.",
        [("add_contact", {"name": name, "email": email, "phone": phone})],
        (0, "id"),
        f"Added {name} as contact {{answer}}.",
        _contact_ids(world),
        "easy",
    )


def update_contact(world: World, rng: random.Random) -> Task:
    person = rng.choice(world.contacts)
    phone = _unused_phone(world, rng)
    return Task(
        "contacts_update",
        f"{person.name} has a new phone number: {phone}. Update their contact entry (change nothing else) "
        "and reply with their contact id.",
        [
            ("find_contact", {"name": person.name}),
            ("update_contact", {"contact_id": person.id, "email": None, "phone": phone, "job_title": None}),
        ],
        person.id,
        f"Updated {person.name}'s phone number (contact {{answer}}).",
        _contact_ids(world, person.id),
        "medium",
    )


def accept_meeting(world: World, rng: random.Random) -> Task:
    proposal = rng.choice(world.proposals)
    email = next(e for e in world.emails if e.id == proposal.email_id)
    person = _sender(world, email)
    text = rng.choice(_CONFIRMATIONS)
    return Task(
        "multi_accept_meeting",
        f'{person.name} emailed me proposing a meeting (subject "{email.subject}"). Read the email, add the '
        f"meeting to my calendar at the proposed time, titled with the email's subject and with {person.name} as "
        f'the only attendee, then reply to the email with "{text}". Finally, tell me the new event\'s id.',
        [
            ("search_emails", {"query": email.subject, "folder": "inbox"}),
            ("read_email", {"email_id": email.id}),
            (
                "create_event",
                {
                    "event_title": email.subject,
                    "date": proposal.date,
                    "start": proposal.start,
                    "end": proposal.end,
                    "attendees": [person.email],
                },
            ),
            ("reply_email", {"email_id": email.id, "body": text}),
        ],
        (2, "id"),
        "Added the meeting (event {answer}) and confirmed by email.",
        _event_ids(world),
        "hard",
    )


#: Where an "earliest slot" window may open; it always closes at 17:00.
WINDOW_OPENS = (9 * 60, 10 * 60, 11 * 60, 13 * 60)


def _blocked_windows(world: World, days: tuple[str, ...], length: int, ignore: str = "") -> list[tuple[str, int, int]]:
    """(day, window opening, earliest free start) where the opening itself is taken and a later start is free.

    Only such windows make a task: when the opening is free the answer is always the opening, and a
    policy that books it blind, without listing the day, would be right.
    """
    found = []
    for day in days:
        for opening in WINDOW_OPENS:
            starts = [s for s in _free_starts(world, day, length, close=17 * 60, ignore=ignore) if s >= opening]
            if starts and starts[0] != opening:
                found.append((day, opening, starts[0]))
    return found


def earliest_slot(world: World, rng: random.Random) -> Task:
    person = rng.choice(world.contacts)
    length = rng.choice((30, 60, 90))
    title = rng.choice(_NEW_EVENTS)
    windows = _blocked_windows(world, WEEK[1:], length)
    if not windows:
        raise NoTask(f"no day whose {length}-minute window opening is taken")
    day, opening, start = rng.choice(windows)
    return Task(
        "multi_earliest_slot",
        f'Schedule a {length}-minute meeting called "{title}" with {person.name} on {_day(day)}, at the earliest '
        f"time between {hhmm(opening)} and 17:00 when I have no other meeting (start on the hour or half hour). "
        "Reply with the new event's id.",
        [
            ("find_contact", {"name": person.name}),
            ("list_events", {"date": day}),
            (
                "create_event",
                {
                    "event_title": title,
                    "date": day,
                    "start": hhmm(start),
                    "end": hhmm(start + length),
                    "attendees": [person.email],
                },
            ),
        ],
        (2, "id"),
        "Booked it; the new event's id is {answer}.",
        _event_ids(world),
        "hard",
    )


def reschedule_earliest(world: World, rng: random.Random) -> Task:
    event = rng.choice(world.events)
    length = minutes(event.end) - minutes(event.start)
    windows = [w for w in _blocked_windows(world, WEEK, length, ignore=event.id) if w[0] != event.date]
    if not windows:
        raise NoTask(f"nowhere to move {event.id} to")
    day, opening, start = rng.choice(windows)
    return Task(
        "multi_reschedule_earliest",
        f'Move "{event.title}" (now on {_day(event.date)}) to {_day(day)}, at the earliest time between '
        f"{hhmm(opening)} and 17:00 when I have no other meeting, keeping its length (start on the hour or half "
        "hour). Reply with the event's id.",
        [
            ("list_events", {"date": event.date}),
            ("list_events", {"date": day}),
            (
                "reschedule_event",
                {"event_id": event.id, "date": day, "start": hhmm(start), "end": hhmm(start + length)},
            ),
        ],
        event.id,
        "Moved event {answer}.",
        _event_ids(world, event.id),
        "hard",
    )


def notify_attendees(world: World, rng: random.Random) -> Task:
    event = rng.choice(world.events)
    subject, body = rng.choice(_NEW_SUBJECTS)
    return Task(
        "multi_notify_attendees",
        f'Email everyone invited to "{event.title}" on {_day(event.date)} (all its attendees, in one email) with '
        f'the subject "{subject}" and the body "{body}". Reply with the id of the email you sent.',
        [
            ("list_events", {"date": event.date}),
            ("send_email", {"to": list(event.attendees), "subject": subject, "body": body}),
        ],
        (1, "id"),
        "Sent to all attendees; the email's id is {answer}.",
        _email_ids(world),
        "hard",
    )


def cancel_and_notify(world: World, rng: random.Random) -> Task:
    event = rng.choice(world.events)
    subject = f"Cancelled: {event.title}"
    body = f"{event.title} on {event.date} at {event.start} is cancelled. Sorry for the short notice."
    return Task(
        "multi_cancel_and_notify",
        f'Cancel "{event.title}" on {_day(event.date)}, then email all of its attendees (one email) with the subject '
        f'"{subject}" and the body "{body}". Reply with the id of that email.',
        [
            ("list_events", {"date": event.date}),
            ("cancel_event", {"event_id": event.id}),
            ("send_email", {"to": list(event.attendees), "subject": subject, "body": body}),
        ],
        (2, "id"),
        "Cancelled it and told the attendees; the email's id is {answer}.",
        _email_ids(world),
        "hard",
    )


FAMILIES: tuple[Callable[[World, random.Random], Task], ...] = (
    contact_phone,
    email_sender,
    event_start,
    send_email,
    reply_email,
    delete_email,
    create_event,
    cancel_event,
    reschedule_event,
    add_contact,
    update_contact,
    accept_meeting,
    earliest_slot,
    reschedule_earliest,
    notify_attendees,
    cancel_and_notify,
)


def _tasks() -> list[tuple[int, Task]]:
    """(world seed, task) of every row: families in turn, each row in a world of its own."""
    stream = random.Random(MASTER_SEED)
    used: set[int] = set()
    found = []
    for index in range(len(FAMILIES) * ROWS_PER_FAMILY):
        family = FAMILIES[index % len(FAMILIES)]
        while True:
            seed = stream.randrange(100_000, 1_000_000)
            if seed in used:
                continue
            used.add(seed)
            try:
                found.append((seed, family(generate_world(seed), random.Random(f"workplace task {seed}"))))
                break
            except NoTask:
                continue
    return found


def build_rows() -> list[dict[str, Any]]:
    """The dataset's rows, the same on every run."""
    env = Workplace()
    tools = [spec.schema() for spec in env.tools()]
    rows = []
    for index, (seed, task) in enumerate(_tasks()):
        state = Workplace.new_state(seed)
        try:
            results = env.replay(state, task.calls, strict=True)
        finally:
            state.close()
        if isinstance(task.answer, str):
            expected = task.answer
        else:
            expected = str(results[task.answer[0]][task.answer[1]])
        if not any(expected in text for text in strings_in(results)):
            raise AssertionError(f"row {index}: the expected answer {expected!r} is in no tool result")
        if expected in task.distractors:
            raise AssertionError(f"row {index}: the expected answer {expected!r} is among the distractors")
        rows.append(
            {
                "id": index,
                "responses_create_params": {
                    "input": [
                        {"role": "system", "content": SYSTEM_PROMPT},
                        {"role": "user", "content": task.prompt},
                    ],
                    "tools": tools,
                },
                "world_seed": seed,
                "category": f"workplace_{task.category}",
                "environment_name": "workplace",
                "difficulty": task.difficulty,
                "ground_truth": [{"name": name, "arguments": json.dumps(args)} for name, args in task.calls],
                "expected_answer": expected,
                "distractors": task.distractors,
                "reference_solution": {
                    "tool_calls": [{"name": name, "arguments": args} for name, args in task.calls],
                    "answer": task.reply.format(answer=expected),
                },
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> bytes:
    """The JSONL bytes of `rows`."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


@functools.cache
def _rendered() -> bytes:
    # Built once per process: the reproduction test runs --check twice.
    return render(build_rows())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="compare with --output instead of writing it")
    args = parser.parse_args(argv)
    data = _rendered()
    if args.check:
        same = args.output.is_file() and args.output.read_bytes() == data
        print(f"{args.output}: {'up to date' if same else 'differs from what generate.py makes'}")
        return 0 if same else 1
    args.output.write_bytes(data)
    print(f"wrote {len(data.splitlines())} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
