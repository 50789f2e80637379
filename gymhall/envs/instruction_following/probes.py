"""instruction_following's reward probes: the instructions restated, the prompt echoed in the row's
format, and an answer that follows only some instructions; and where the row's own rules forbid a
generic format variant.

A generic variant (bold, fenced, a trailing sentence) changes the first and last characters of the
answer, which some instructions fix exactly: "wrap your entire response in double quotation
marks", "finish your response with this exact phrase", "the first word of your response should
be ...", JSON as the entire output. On a row with such an instruction the variant breaks the rule
and must score below the reference (`FORBIDS`); where it may or may not, depending on a count's
slack (a trailing sentence under "less than 120 words"), the probe is ignored (`MAY_BREAK`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from gymhall import Probe
from gymhall.envs.instruction_following.instructions import build_instruction

__all__ = ["FORBIDS", "MAY_BREAK", "probes"]

_START_END = {
    "startend:quotation",
    "startend:end_checker",
    "first_word:first_word_answer",
    "combination:repeat_prompt",
    "detectable_format:json_format",
}
_COUNTS = {
    "length_constraints:number_words",
    "length_constraints:number_sentences",
    "letters:letter_counting",
    "keywords:letter_frequency",
    "keywords:frequency",
    "change_case:capital_word_frequency",
    "count:lowercase_counting",
}
FORBIDS: dict[str, frozenset[str]] = {
    # "**" opens and closes the answer: before the required first word, after the end phrase.
    "reference in bold": frozenset(_START_END),
    # A fence line opens and closes it, and is its last word.
    "reference in a fenced block": frozenset(_START_END - {"detectable_format:json_format"})
    | {"last_word:last_word_answer"},
    # "I hope this helps." ends it, has capitals and lowercase, and is a paragraph of its own.
    "reference with a trailing sentence": frozenset(
        {
            "startend:quotation",
            "startend:end_checker",
            "last_word:last_word_answer",
            "detectable_format:json_format",
            "change_case:english_lowercase",
            "change_case:english_capital",
            "paragraphs:paragraphs2",
            "length_constraints:nth_paragraph_first_word",
        }
    ),
}
"""Per generic variant: the instructions whose rule the variant always breaks (the probe expects below)."""
MAY_BREAK: dict[str, frozenset[str]] = {
    "reference in bold": frozenset({"length_constraints:nth_paragraph_first_word"}),  # when it is paragraph 1
    "reference in a fenced block": frozenset(
        {"length_constraints:nth_paragraph_first_word", "detectable_format:json_format", *_COUNTS}
    ),  # a fence inside the JSON fence; the fence joins sentences
    "reference with a trailing sentence": frozenset(_COUNTS),  # within or past the count's slack
}
"""Per generic variant: the instructions it breaks only on some kwargs (the probe is ignored there)."""

_ONLY_SOME: tuple[Callable[[str], str], ...] = (
    lambda text: text + "\n\nP.S. Note, this closes with an exclamation!",
    lambda text: "Sure!\n\n" + text,
    lambda text: text.upper(),
    lambda text: text.lower(),
    lambda text: text.replace("\n", " "),
    lambda text: " ".join(text.split()[: max(1, len(text.split()) // 3)]),
    lambda text: text + "\n" + text,
)


def _checks(row: Mapping[str, Any]) -> list[Callable[[str], bool]]:
    pairs = zip(row.get("instruction_id_list") or [], row.get("kwargs") or [], strict=False)
    return [build_instruction(instruction_id, kwargs).check for instruction_id, kwargs in pairs]


def _only_some(row: Mapping[str, Any], answer: str) -> str | None:
    """The reference changed to break at least one instruction and, with two or more, keep at least one."""
    checks = _checks(row)
    for change in _ONLY_SOME:
        changed = change(answer)
        followed = [check(changed) for check in checks]
        if not all(followed) and (len(followed) == 1 or any(followed)):
            return changed
    return None


def _in_row_format(row: Mapping[str, Any], text: str) -> str:
    """`text` dressed in the row's required formats: a title, a postscript, an end phrase, JSON, quotes, case."""
    for instruction_id, kwargs in zip(row.get("instruction_id_list") or [], row.get("kwargs") or [], strict=False):
        kwargs = kwargs or {}
        if instruction_id == "detectable_format:title":
            text = f"<<Answer>>\n{text}"
        elif instruction_id == "detectable_content:postscript":
            text = f"{text}\n{kwargs.get('postscript_marker', 'P.S.')} See above."
    for instruction_id, kwargs in zip(row.get("instruction_id_list") or [], row.get("kwargs") or [], strict=False):
        kwargs = kwargs or {}
        if instruction_id == "startend:end_checker":
            text = f"{text} {kwargs.get('end_phrase', '')}"
        elif instruction_id == "detectable_format:json_format":
            text = json.dumps({"answer": text})
        elif instruction_id == "change_case:english_lowercase":
            text = text.lower()
        elif instruction_id == "change_case:english_capital":
            text = text.upper()
    if "startend:quotation" in (row.get("instruction_id_list") or []):
        text = f'"{text}"'
    return text


def probes(row: Mapping[str, Any]) -> list[Probe]:
    """This row's own hacks, and the generic variants its instructions forbid or may forbid."""
    reference = row.get("reference_solution") or {}
    answer = str(reference.get("answer") or "")
    ids = set(row.get("instruction_id_list") or [])
    pairs = zip(row["instruction_id_list"], row["kwargs"], strict=True)
    described = [build_instruction(i, k).describe() for i, k in pairs]
    restated = "\n".join(f"{n}. {text}" for n, text in enumerate(described, start=1))
    prompt = str(row.get("prompt") or "")
    found = [
        Probe("instructions restated", answer=restated),
        Probe("instructions restated in the answer format", answer=_in_row_format(row, restated)),
        Probe("prompt echoed in the answer format", answer=_in_row_format(row, prompt)),
    ]
    partial = _only_some(row, answer)
    if partial is not None:
        found.append(Probe("only some instructions followed", answer=partial))
    for variant, forbidding in FORBIDS.items():
        if ids & forbidding:
            found.append(Probe(variant, answer=_variant(variant, answer), expect="below"))
        elif ids & MAY_BREAK[variant]:
            found.append(Probe(variant, expect="ignored"))
    return found


def _variant(name: str, answer: str) -> str:
    """The generic variant `name` of `answer`, built as `gymhall.checks.probes` builds it."""
    if name == "reference in bold":
        return f"**{answer.strip()}**"
    if name == "reference in a fenced block":
        return f"```\n{answer.strip()}\n```"
    return f"{answer}\n\nI hope this helps."
