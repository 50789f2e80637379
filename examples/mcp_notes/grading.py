"""The notes tasks' verify: the store the tools left (read back over MCP) and the number the answer gives."""

from __future__ import annotations

import re
from typing import Any

from gymhall import BaseVerifyRequest
from gymhall.mcp.environment import McpSession

_NUMBER = re.compile(r"-?\d+")


def _answer(body: BaseVerifyRequest) -> int | None:
    found = _NUMBER.search(body.response.output_text or "")
    return int(found.group()) if found else None


async def _notes(session: McpSession) -> list[dict[str, Any]]:
    listed = await session.call("list_notes")
    return [await session.call("read_note", note_id=n["id"]) for n in listed["notes"]]


async def verify(session: McpSession, body: BaseVerifyRequest) -> float:
    """1.0 when the store is as the task asks and the answer's first number is the expected one."""
    expected: dict[str, Any] = session.row["expected"]
    notes = await _notes(session)
    by_title = {n["title"]: n for n in notes}
    kind = expected["kind"]
    answer = _answer(body)
    if kind == "create":
        note = by_title.get(expected["title"])
        ok = note is not None and note["body"] == expected["body"] and expected["tag"] in note["tags"]
        return float(ok and answer == (note or {}).get("id"))
    if kind == "delete":
        ok = expected["title"] not in by_title and len(notes) == expected["left"]
        return float(ok and answer == expected["left"])
    if kind == "tag":
        tagged = sorted(n["title"] for n in notes if expected["tag"] in n["tags"])
        return float(tagged == sorted(expected["titles"]) and answer == len(expected["titles"]))
    if kind == "append":
        note = by_title.get(expected["title"])
        ok = note is not None and str(note["body"]).endswith("\n" + expected["line"])
        return float(ok and answer == (note or {}).get("id"))
    raise ValueError(f"unknown task kind {kind!r} in the row's `expected`")
