"""The workplace environment's own reward probes (`gymhall check` plays them with the generic ones).

Each is built from the row: its expected answer, its `distractors` (the other candidates of the
answer's kind), its ground-truth calls. Every one is a hack that must score below the reference:

- every candidate listed: the reference answer followed by all the other candidates;
- a candidate instead of the answer: the reference answer naming another candidate;
- hard-coded id: for a task that creates a row, the id the first created row had in every world
  before ids were drawn per world (EV-2011, EM-1017, CT-3013);
- read-only calls only: the lookups of the ground truth made, its changes skipped, the answer kept;
- window opening booked blind: for an "earliest free time" task, the event put at the window's
  opening without listing the day (the opening is always taken, so the call is refused).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gymhall import Probe

__all__ = ["HARD_CODED_IDS", "READ_ONLY_TOOLS", "probes"]

#: The id each table's first created row got in every world before created ids were drawn per world.
HARD_CODED_IDS = {"CT": "CT-3013", "EM": "EM-1017", "EV": "EV-2011"}
#: The tools that change nothing.
READ_ONLY_TOOLS = frozenset({"find_contact", "search_emails", "read_email", "list_events"})

_CREATED_ID = re.compile(r"^(CT|EM|EV)-(\d+)$")
_CREATED_FROM = {"CT": 3100, "EM": 1100, "EV": 2100}  # created rows are numbered from here (records.py)
_WINDOW = re.compile(r"between (\d\d):(\d\d) and 17:00")


def _replaced(text: str, old: str, new: str) -> str:
    return text.replace(old, new) if old in text else f"{text} {new}"


def _window_opening(row: Mapping[str, Any], calls: list[Mapping[str, Any]]) -> list[Mapping[str, Any]] | None:
    """The calls of an earliest-slot task with the lookups dropped and the event put at the window opening."""
    params = row.get("responses_create_params") or {}
    prompt = " ".join(str(m.get("content", "")) for m in params.get("input", []) if isinstance(m, Mapping))
    found = _WINDOW.search(prompt)
    last = calls[-1] if calls else None
    if found is None or last is None or last.get("name") not in ("create_event", "reschedule_event"):
        return None
    arguments = dict(last.get("arguments") or {})
    start_hh, start_mm = (int(part) for part in str(arguments["start"]).split(":"))
    end_hh, end_mm = (int(part) for part in str(arguments["end"]).split(":"))
    length = (end_hh * 60 + end_mm) - (start_hh * 60 + start_mm)
    opening = int(found.group(1)) * 60 + int(found.group(2))
    arguments["start"] = f"{opening // 60:02d}:{opening % 60:02d}"
    arguments["end"] = f"{(opening + length) // 60:02d}:{(opening + length) % 60:02d}"
    kept = [call for call in calls[:-1] if call.get("name") not in ("list_events",)]
    return [*kept, {"name": last["name"], "arguments": arguments}]


def probes(row: Mapping[str, Any]) -> list[Probe]:
    """The workplace hacks of `row` that apply to it."""
    reference = row.get("reference_solution") or {}
    answer = str(reference.get("answer") or "")
    calls = list(reference.get("tool_calls") or [])
    expected = str(row.get("expected_answer") or "")
    distractors = [str(d) for d in row.get("distractors") or []]
    found: list[Probe] = []
    if distractors:
        listed = f"{answer}\n\nIt could also be: {', '.join(distractors)}."
        found.append(Probe("every candidate listed", answer=listed))
        found.append(Probe("a candidate instead of the answer", answer=_replaced(answer, expected, distractors[0])))
    created = _CREATED_ID.match(expected)
    if created is not None and int(created.group(2)) >= _CREATED_FROM[created.group(1)]:
        found.append(Probe("hard-coded id", answer=_replaced(answer, expected, HARD_CODED_IDS[created.group(1)])))
    lookups = [call for call in calls if call.get("name") in READ_ONLY_TOOLS]
    if len(lookups) < len(calls):
        found.append(Probe("read-only calls only", tool_calls=lookups))
    blind = _window_opening(row, calls)
    if blind is not None:
        found.append(Probe("window opening booked blind", tool_calls=blind))
    return found
