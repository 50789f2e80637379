"""Writes notes.jsonl: tasks on the MCP notes server, each with its setup, expectation and reference solution.

    python examples/mcp_notes/data/generate.py      # deterministic: the same file every run

Every task changes the store (so a solution without tool calls fails) and ends with a number the prompt
does not contain (a note's id or a count), so an echoed prompt scores nothing.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

TITLES = [
    "garden plan",
    "tax papers",
    "trip to lisbon",
    "book club picks",
    "kitchen repairs",
    "birthday gifts",
    "garden tools",
    "weekly groceries",
    "tax deadlines",
    "trip packing list",
    "piano practice",
    "car service",
]
BODIES = [
    "buy seeds and soil",
    "find last year's forms",
    "book the train early",
    "ask everyone for ideas",
    "fix the leaking tap",
    "wrap them on friday",
    "oil the hinges",
    "milk, eggs and bread",
]
TAGS = ["home", "work", "urgent", "later", "ideas", "family"]
LINES = ["call the plumber", "check the receipts", "pack the charger", "water the tomatoes", "print the tickets"]
WORDS = ["garden", "tax", "trip"]


def _setup(rng: random.Random, count: int, titles: list[str] | None = None) -> list[dict[str, Any]]:
    chosen = titles if titles is not None else rng.sample(TITLES, count)
    return [
        {"title": t, "body": rng.choice(BODIES), "tags": sorted(rng.sample(TAGS, rng.randint(0, 2)))} for t in chosen
    ]


def _row(prompt: str, notes: list[dict[str, Any]], expected: dict[str, Any], calls: list[dict[str, Any]], answer: int):
    return {
        "responses_create_params": {"input": [{"role": "user", "content": prompt}]},
        "mcp_setup": [{"name": "add_note", "arguments": n} for n in notes],
        "expected": expected,
        "reference_solution": {"tool_calls": calls, "answer": str(answer)},
    }


def create(rng: random.Random) -> dict[str, Any]:
    notes = _setup(rng, rng.randint(0, 3))
    title = rng.choice([t for t in TITLES if t not in {n["title"] for n in notes}])
    body, tag = rng.choice(BODIES), rng.choice(TAGS)
    prompt = (
        f"Create a note titled '{title}' whose body is '{body}', tagged '{tag}'. "
        "Then reply with only the new note's id."
    )
    new_id = len(notes) + 1
    call = {"name": "add_note", "arguments": {"title": title, "body": body, "tags": [tag]}}
    return _row(prompt, notes, {"kind": "create", "title": title, "body": body, "tag": tag}, [call], new_id)


def delete(rng: random.Random) -> dict[str, Any]:
    notes = _setup(rng, rng.randint(2, 4))
    index = rng.randrange(len(notes))
    title = notes[index]["title"]
    prompt = f"Delete the note titled '{title}'. Then reply with only the number of notes left."
    call = {"name": "delete_note", "arguments": {"note_id": index + 1}}
    return _row(prompt, notes, {"kind": "delete", "title": title, "left": len(notes) - 1}, [call], len(notes) - 1)


def tag(rng: random.Random) -> dict[str, Any]:
    word = rng.choice(WORDS)
    matching = [t for t in TITLES if word in t]
    others = rng.sample([t for t in TITLES if word not in t], rng.randint(1, 3))
    titles = rng.sample(matching, rng.randint(1, len(matching))) + others
    rng.shuffle(titles)
    notes = _setup(rng, 0, titles)
    new_tag = rng.choice([t for t in TAGS if all(t not in n["tags"] for n in notes)] or ["someday"])
    ids = [i + 1 for i, n in enumerate(notes) if word in n["title"]]
    prompt = (
        f"Add the tag '{new_tag}' to every note whose title contains the word '{word}'. "
        "Then reply with only how many notes you tagged."
    )
    calls = [{"name": "tag_note", "arguments": {"note_id": i, "tag": new_tag}} for i in ids]
    expected = {"kind": "tag", "tag": new_tag, "titles": [notes[i - 1]["title"] for i in ids]}
    return _row(prompt, notes, expected, calls, len(ids))


def append(rng: random.Random) -> dict[str, Any]:
    notes = _setup(rng, rng.randint(1, 4))
    index = rng.randrange(len(notes))
    title, line = notes[index]["title"], rng.choice(LINES)
    prompt = f"Append the line '{line}' to the note titled '{title}'. Then reply with only that note's id."
    call = {"name": "append_to_note", "arguments": {"note_id": index + 1, "text": line}}
    return _row(prompt, notes, {"kind": "append", "title": title, "line": line}, [call], index + 1)


def main() -> None:
    rng = random.Random(14)
    families = [create, delete, tag, append]
    rows = [families[i % len(families)](rng) for i in range(8)]  # each row is ~15 sessions in `gymhall check`
    path = Path(__file__).with_name("notes.jsonl")
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


if __name__ == "__main__":
    main()
