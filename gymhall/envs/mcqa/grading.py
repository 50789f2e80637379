"""Reading the chosen letter out of a multiple-choice answer, in NeMo Gym's grading modes.

Each grading mode is one way of finding the letter; a row's `template_metadata.output_regex`, when
it has one, is tried first. The modes follow NeMo Gym's so that rows in its shape work unchanged,
with two kinds of difference (the README lists them): an answer that names different letters
(several boxes, `Answer:` lines or regex matches that disagree, or one that lists letters) is a
hedge and reads as no letter, where NeMo Gym takes the first or last; and `lenient_answer_colon`
reads `**Answer: B**`, `Answer: (B) 90` and `Answer: B.` as B, where NeMo Gym reads nothing. The
code is written for linear time on long answers.

- `strict_single_letter_boxed`: every `\\boxed{...}` that names a letter names the same one: a
  capital, optionally padded (`\\boxed{ [C] }`), wrapped in `\\text{...}`, or labelling its option
  text (`\\boxed{C: 42}`, `\\boxed{(C) 42}`).
- `lenient_boxed`: as strict, and a box may instead hold exactly one option's text.
- `lenient_answer_colon`: every `Answer:` line that names a letter names the same one: a lone
  letter, the one offered capital on the line, or an option's whole text.
- `lenient_answer_colon_md`: NeMo Gym's reading of each `Answer:` line (Markdown emphasis allowed:
  a lone or leading letter, else the last standalone capital; `A/B`, `A or B` are a hedge), the
  lines agreeing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["GRADING_MODES", "Grade", "GradingMode", "Options", "extract_letter", "grade", "option_letters"]

GradingMode = Literal["strict_single_letter_boxed", "lenient_boxed", "lenient_answer_colon", "lenient_answer_colon_md"]
GRADING_MODES: tuple[GradingMode, ...] = get_args(GradingMode)

#: A row's options, in NeMo Gym's shape: `[{"A": "text"}, {"B": "text"}, ...]`.
Options = Sequence[Mapping[str, str | None]]

_BOX = "\\boxed{"
_TEXT = "\\text{"
_LONE_CAPITAL = re.compile(r"[^A-Za-z]*([A-Z])[^A-Za-z]*")
_LABELLED_CAPITAL = re.compile(r"\s*[(\[]?([A-Z])\s*[:).\]\-]")
_ANSWER_COLON = re.compile(r"answer[*_]{0,2}\s*:\s*(.+)", re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:the|an?)\s+")
_ANSWER_COLON_MD = re.compile(r"[*_]{0,2}Answer[*_]{0,2}\s*:[*_\s]{0,2}(.+)", re.IGNORECASE | re.MULTILINE)
_LETTER_TOKEN = re.compile(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])")
_LIST_SEPARATOR = re.compile(r"\s*[/|&,;]\s*|\s+(?:or|and)\s+|\s+", re.IGNORECASE)
_LEADING_LETTER = re.compile(r"[a-zA-Z](?![a-zA-Z0-9])")
_STANDALONE_CAPITAL = re.compile(r"\b[A-Z]\b")
_PAYLOAD_PUNCTUATION = "*_` \t\n\r.,;:"
# Option letters as some prompts' scripts write them (Arabic, Bengali, full-width), read as A-D.
_SCRIPT_LETTERS = str.maketrans(
    {
        "أ": " A",
        "ب": " B",
        "ج": " C",
        "د": " D",
        "অ": " A",
        "ব": " B",
        "ড": " C",
        "ঢ": " D",
        "Ａ": " A",
        "Ｂ": " B",
        "Ｃ": " C",
        "Ｄ": " D",
    }  # fmt: skip
)


@dataclass(frozen=True)
class Grade:
    """The outcome of grading one answer."""

    reward: float
    expected_answer: str  # the row's letter, stripped and upper-cased
    extracted_answer: str | None  # the letter read from the answer, None when none could be


def option_letters(options: Options | None) -> frozenset[str]:
    """The letters a row offers: single-letter keys whose text is not null, upper-cased."""
    return frozenset(
        key.upper()
        for entry in options or ()
        for key, text in entry.items()
        if text is not None and len(key) == 1 and key.isalpha()
    )


def _option_texts(options: Options | None, letters: frozenset[str]) -> list[tuple[str, str]]:
    """(letter, normalised text) of each offered option, in the row's order."""
    return [
        (key.upper(), _normalize(text))
        for entry in options or ()
        for key, text in entry.items()
        if text is not None and len(key) == 1 and key.upper() in letters
    ]


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())


def _unwrap_text(text: str) -> str:
    """`text` without the `\\text{...}` wrappers that enclose all of it, each one's content stripped.

    A scan, where NeMo Gym uses a lazy regex with the same result: that regex backtracks in cubic
    time on long runs of spaces.
    """
    start, end = 0, len(text)
    while end - start > len(_TEXT) and text.startswith(_TEXT, start, end) and text[end - 1] == "}":
        start, end = start + len(_TEXT), end - 1
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
    return text[start:end]


class _Conflict:
    """What a reader returns for an answer that names several letters: a hedge, never a choice."""


CONFLICT = _Conflict()
_Choice = str | _Conflict | None


def _offered_capitals(text: str, letters: frozenset[str]) -> set[str]:
    """The offered letters that stand alone as capitals in `text` ("A", "(B)", "C:"), script letters read as A-D."""
    return {capital for capital in _STANDALONE_CAPITAL.findall(text.translate(_SCRIPT_LETTERS)) if capital in letters}


def _agreed(choices: Sequence[_Choice]) -> str | None:
    """The one letter all `choices` that name one agree on; None when they name none, several, or hedge.

    Answering with every letter in turn (`\\boxed{A} \\boxed{B} ...`, `Answer: A` then `Answer: B`)
    would otherwise pay whenever the right letter sits where the reader looks (first or last).
    """
    if any(choice is CONFLICT for choice in choices):
        return None
    named = {choice for choice in choices if isinstance(choice, str)}
    return named.pop() if len(named) == 1 else None


def _boxes(text: str) -> list[str]:
    """The contents of every closed `\\boxed{...}`, braces balanced, in order."""
    found = []
    start = text.find(_BOX)
    while start != -1:
        depth, begin, index = 1, start + len(_BOX), start + len(_BOX)
        while index < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        if depth:
            break  # unclosed: so is every box after it
        found.append(text[begin : index - 1])
        start = text.find(_BOX, index)
    return found


def _exact_option(payload: str, options: Options | None, letters: frozenset[str]) -> str | None:
    """The letter whose option text `payload` is, all of it (case, spacing, an article, end punctuation aside)."""
    wanted = _normalize(payload).strip(_PAYLOAD_PUNCTUATION)
    wanted = _ARTICLE.sub("", wanted)
    return next((letter for letter, option in _option_texts(options, letters) if option and option == wanted), None)


def _box_choice(content: str, options: Options | None, letters: frozenset[str], by_text: bool) -> _Choice:
    """What one box chooses: its lone or labelled capital, else (when `by_text`) the option whose text it is."""
    content = _unwrap_text(content.strip())
    match = _LONE_CAPITAL.fullmatch(content) or _LABELLED_CAPITAL.match(content)
    if match is not None and match.group(1) in letters:
        rest = content[match.end() :]
        # "C: Pentagon" labels one option; "A: 240; B: 214; ..." lists them all.
        if _offered_capitals(rest, letters) - {match.group(1)} and _exact_option(rest, options, letters) is None:
            return CONFLICT
        return match.group(1)
    if len(_offered_capitals(content, letters)) > 1:
        return CONFLICT
    return _exact_option(content, options, letters) if by_text else None


def _strict(text: str, options: Options | None, letters: frozenset[str]) -> str | None:
    return _agreed([_box_choice(box, options, letters, by_text=False) for box in _boxes(text)])


def _lenient_boxed(text: str, options: Options | None, letters: frozenset[str]) -> str | None:
    return _agreed([_box_choice(box, options, letters, by_text=True) for box in _boxes(text)])


def _colon_choice(payload: str, options: Options | None, letters: frozenset[str]) -> _Choice:
    """What one `Answer:` line chooses: an option's whole text, else the one offered capital it names."""
    payload = _unwrap_text(payload.strip().strip(_PAYLOAD_PUNCTUATION + "$")).strip()
    by_text = _exact_option(payload, options, letters)
    if by_text is not None:
        return by_text
    if len(payload) == 1 and payload.upper() in letters:
        return payload.upper()
    named = _offered_capitals(payload, letters)
    if len(named) > 1:
        return CONFLICT
    return named.pop() if named else None


def _answer_colon(text: str, options: Options | None, letters: frozenset[str]) -> str | None:
    return _agreed([_colon_choice(payload, options, letters) for payload in _ANSWER_COLON.findall(text)])


def _is_choice_list(payload: str, letters: frozenset[str]) -> bool:
    """Whether `payload` names two different offered letters side by side, as in "A/B" or "A or B"."""
    tokens = [(m.group().upper(), m.start(), m.end()) for m in _LETTER_TOKEN.finditer(payload)]
    tokens = [token for token in tokens if token[0] in letters]
    return any(
        left[0] != right[0] and _LIST_SEPARATOR.fullmatch(payload, left[2], right[1]) is not None
        for left, right in zip(tokens, tokens[1:], strict=False)
    )


def _choice_letter(payload: str, letters: frozenset[str]) -> _Choice:
    payload = payload.translate(_SCRIPT_LETTERS).strip().strip(_PAYLOAD_PUNCTUATION)
    if _is_choice_list(payload, letters):
        return CONFLICT
    if len(payload) == 1:
        letter: str | None = payload
    elif (leading := _LEADING_LETTER.match(payload)) is not None:
        letter = leading.group()
    else:
        letter = None
        for letter_match in _STANDALONE_CAPITAL.finditer(payload):
            letter = letter_match.group()
    if letter is not None and letter.upper() in letters:
        return letter.upper()
    return None


def _answer_colon_md(text: str, options: Options | None, letters: frozenset[str]) -> str | None:
    return _agreed([_choice_letter(payload, letters) for payload in _ANSWER_COLON_MD.findall(text)])


_EXTRACTORS: dict[GradingMode, Callable[[str, Options | None, frozenset[str]], str | None]] = {
    "strict_single_letter_boxed": _strict,
    "lenient_boxed": _lenient_boxed,
    "lenient_answer_colon": _answer_colon,
    "lenient_answer_colon_md": _answer_colon_md,
}


def _custom_regex(text: str, pattern: str, options: Options | None, letters: frozenset[str]) -> _Choice:
    """The letter a row's own regex captures (case-insensitive), every match agreeing; None when it captures none.

    A captured single letter is taken as is, even if not among the options: the row's regex is
    trusted. Otherwise the capture must equal an option's text. An invalid regex captures nothing.
    Matches that name different letters, or a match whose line goes on to name other offered
    letters ("Final choice: A, B, C"), are a hedge (`CONFLICT`).
    """
    try:
        matches = list(re.finditer(pattern, text, re.IGNORECASE))
    except re.error:
        return None
    choices: list[_Choice] = []
    for match in matches:
        # With several groups the first is the answer; a pattern without groups captures all it matches.
        group = 1 if match.re.groups else 0
        captured = (match.group(group) or "").strip().translate(_SCRIPT_LETTERS).strip().upper()
        line_end = text.find("\n", match.end())
        rest = text[match.end() : len(text) if line_end == -1 else line_end]
        if len(captured) == 1 and captured.isalpha():
            named = _offered_capitals(rest, letters) - {captured}
            hedged = (
                bool(named)
                and _exact_option(rest, options, letters) is None
                and not _names_own_text(rest, captured, options, letters)
            )
            choices.append(CONFLICT if hedged else captured)
        else:
            choices.append(_exact_option(captured, options, letters))
    if not any(isinstance(choice, str) for choice in choices) and CONFLICT not in choices:
        return None
    return _agreed(choices) or CONFLICT


def _names_own_text(rest: str, letter: str, options: Options | None, letters: frozenset[str]) -> bool:
    """Whether `rest` (what follows a captured letter) is that option's text, bracketed or labelled."""
    return _exact_option(rest.strip(" \t:.)(-"), options, letters) == letter


def extract_letter(
    text: str, mode: GradingMode, options: Options | None, output_regex: Sequence[str] = ()
) -> str | None:
    """The option letter `text` chooses: by the first of `output_regex` that captures one, else by `mode`."""
    letters = option_letters(options)
    for pattern in output_regex:
        letter = _custom_regex(text, pattern, options, letters)
        if letter is CONFLICT:
            return None  # a hedge in the row's own format is not rescued by the grading mode
        if isinstance(letter, str):
            return letter
    return _EXTRACTORS[mode](text, options, letters)


def grade(
    text: str,
    *,
    expected_answer: str | None,
    options: Options | None,
    mode: GradingMode,
    output_regex: Sequence[str] = (),
) -> Grade:
    """Grade the answer `text`: reward 1.0 when the letter read from it is the expected one."""
    expected = (expected_answer or "").strip().upper()
    text = text.strip()
    if not text:
        return Grade(0.0, expected, None)
    extracted = extract_letter(text, mode, options, output_regex)
    return Grade(float(bool(expected) and extracted == expected), expected, extracted)
