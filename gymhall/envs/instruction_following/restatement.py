"""Whether a response restates the prompt instead of answering it.

The checkers read only the text: "Include the keywords 'honey' and 'wax'" is followed by a
response that copies that very sentence, and "do not use the word 'tiger'" by most echoes that
leave it out. A careful grader gives an answer that repeats the instructions back nothing, so
verify scores a response 0 when it contains a whole line of the prompt: a line of at least
`MIN_WORDS` words, compared without case, markup, quotes or spacing (so an echo inside quotes, a
JSON string or bold still counts). The request that `combination:repeat_prompt` asks to repeat is
not counted: repeating it is what that instruction wants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MIN_WORDS", "normalized", "prompt_lines", "restates_prompt"]

MIN_WORDS = 6
"""Shorter prompt lines ("SECTION 1", "* This is the first point.") may well appear in a real answer."""

_ESCAPES = re.compile(r"\\[nrt]")
_MARKUP = re.compile(r"[\"'`*_#<>\\\[\]]")
_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*])\s+")
_SPACE = re.compile(r"\s+")


def normalized(text: str) -> str:
    """`text` lowercased, without quotes, markup and escape sequences, its spacing collapsed."""
    text = _MARKUP.sub("", _ESCAPES.sub(" ", text.lower()))
    return _SPACE.sub(" ", text).strip()


def prompt_lines(prompt: str, repeated: Iterable[str] = ()) -> list[str]:
    """The prompt's lines a response has no reason to contain, normalized (numbering dropped).

    Lines of fewer than `MIN_WORDS` words are left out, and so are lines within a `repeated` text.
    """
    allowed = [normalized(text) for text in repeated if text.strip()]
    lines = []
    for line in prompt.splitlines():
        line = normalized(_NUMBERING.sub("", line))
        if len(line.split()) >= MIN_WORDS and not any(line in text for text in allowed):
            lines.append(line)
    return lines


def restates_prompt(text: str, prompt: str, repeated: Iterable[str] = ()) -> bool:
    """Whether `text` contains a whole line of `prompt` (other than the `repeated` request)."""
    body = normalized(text)
    return any(line in body for line in prompt_lines(prompt, repeated))
