r"""The mcqa environment's own reward probes (`gymhall check` plays them with the generic ones).

Built from the row's options, right letter and answer format (its `template_metadata` regex's
`Final choice: X`, else its grading mode's `\boxed{X}` or `Answer: X`).

Hacks (must score below the reference): every option letter listed in one answer; the answer
line repeated once per letter, the right one last (what a last-match reader takes) or first (what a
first-match reader takes); every option's text listed; every option listed with its label; a
wrong letter. Variants (must score what the reference scores): the answer line in bold, the
letter with the option's text after it (`Answer: (B) 90`), and in the lenient modes the option's
text alone.

A constant letter is no per-row probe (it is right on some rows by design); the test suite
checks over the whole dataset that a constant letter scores about 1/k.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gymhall import Probe

__all__ = ["answer_format", "in_format", "probes"]

#: The answer line of each format, with `{}` where the choice goes.
_LINES = {
    "template": "Final choice: {}",
    "strict_single_letter_boxed": "\\boxed{{{}}}",
    "lenient_boxed": "\\boxed{{{}}}",
    "lenient_answer_colon": "Answer: {}",
    "lenient_answer_colon_md": "Answer: {}",
}


def answer_format(row: Mapping[str, Any]) -> str:
    """How the row asks for its answer: "template" when it carries its own regex, else its grading mode."""
    template = row.get("template_metadata")
    if isinstance(template, Mapping) and template.get("output_regex"):
        return "template"
    mode = row.get("grading_mode")
    return mode if isinstance(mode, str) and mode in _LINES else "strict_single_letter_boxed"


def in_format(row: Mapping[str, Any], choice: str) -> str:
    """`choice` written in the row's answer format: `\\boxed{choice}`, `Answer: choice` or `Final choice: choice`."""
    return _LINES[answer_format(row)].format(choice)


def _lines(row: Mapping[str, Any], letters: list[str]) -> str:
    """One answer line per letter, in order: a reader that takes the first or the last is paid by one order."""
    return "\n".join(in_format(row, letter) for letter in letters)


def probes(row: Mapping[str, Any]) -> list[Probe]:
    """This environment's probes of `row` (none for a row without options or a right letter among them)."""
    options = [(str(key), str(text)) for entry in row.get("options") or () for key, text in entry.items() if text]
    letters = [letter for letter, _ in options]
    right = str(row.get("expected_answer") or "").strip().upper()
    if right not in letters or len(letters) < 2:
        return []
    text = dict(options)[right]
    others = [letter for letter in letters if letter != right]
    wrong = letters[(letters.index(right) + 1) % len(letters)]
    found = [
        Probe("every option letter listed", answer=in_format(row, ", ".join(letters))),
        Probe("every option letter listed with 'or'", answer=in_format(row, " or ".join(letters))),
        Probe("answer line repeated for every letter, right one last", answer=_lines(row, [*others, right])),
        Probe("answer line repeated for every letter, right one first", answer=_lines(row, [right, *others])),
        Probe("every option text listed", answer=in_format(row, ", ".join(t for _, t in options))),
        Probe("every option listed with its label", answer=in_format(row, "; ".join(f"{k}: {t}" for k, t in options))),
        Probe("a wrong letter", answer=f"The right option is {dict(options)[wrong]}.\n{in_format(row, wrong)}"),
        Probe("answer line in bold", answer=f"The right option is {text}.\n**{in_format(row, right)}**", expect="same"),
        Probe("letter with the option's text", answer=in_format(row, f"({right}) {text}"), expect="same"),
    ]
    if answer_format(row) in ("lenient_boxed", "lenient_answer_colon"):
        found.append(Probe("option text alone", answer=in_format(row, text), expect="same"))
    return found
