"""A small notes store served over MCP on stdio: the example MCP server `McpEnvironment` plays.

Each process holds one store in memory, so each gymhall session (its own process) starts empty. Note ids
count up from 1 in creation order, so a row's reference tool calls can name them.

    python server.py        # speaks MCP on stdin/stdout
"""

from __future__ import annotations

import logging

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

logging.getLogger("mcp").setLevel(logging.WARNING)  # a refused call is the model's business, not a log line
server = MCPServer("notes")
_notes: dict[int, dict[str, object]] = {}
_next_id = [1]


def _note(note_id: int) -> dict[str, object]:
    if note_id not in _notes:
        known = ", ".join(str(i) for i in sorted(_notes)) or "none"
        raise ToolError(f"No note has id {note_id}. The notes' ids are: {known}.")
    return _notes[note_id]


@server.tool()
def add_note(title: str, body: str, tags: list[str] | None = None) -> dict[str, object]:
    """Create a note; answers its id."""
    note_id = _next_id[0]
    _next_id[0] += 1
    _notes[note_id] = {"id": note_id, "title": title, "body": body, "tags": sorted(set(tags or []))}
    return {"id": note_id}


@server.tool()
def list_notes(tag: str | None = None) -> dict[str, object]:
    """The notes (id, title, tags), all of them or those with `tag`."""
    shown = [
        {"id": n["id"], "title": n["title"], "tags": n["tags"]}
        for n in _notes.values()
        if tag is None or tag in n["tags"]  # type: ignore[operator]
    ]
    return {"notes": shown}


@server.tool()
def read_note(note_id: int) -> dict[str, object]:
    """One whole note: id, title, body and tags."""
    return dict(_note(note_id))


@server.tool()
def tag_note(note_id: int, tag: str) -> dict[str, object]:
    """Add `tag` to a note."""
    note = _note(note_id)
    note["tags"] = sorted({*note["tags"], tag})  # type: ignore[misc]
    return {"id": note_id, "tags": note["tags"]}


@server.tool()
def append_to_note(note_id: int, text: str) -> dict[str, object]:
    """Append a line of text to a note's body."""
    note = _note(note_id)
    note["body"] = f"{note['body']}\n{text}" if note["body"] else text
    return {"id": note_id, "body": note["body"]}


@server.tool()
def delete_note(note_id: int) -> dict[str, object]:
    """Delete a note."""
    _note(note_id)
    del _notes[note_id]
    return {"deleted": note_id, "remaining": len(_notes)}


if __name__ == "__main__":
    server.run("stdio")
