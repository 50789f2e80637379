"""Reading the chosen letter out of a multiple-choice answer, as NeMo Gym's mcqa server reads it.

Each grading mode is one way of finding the letter; a row's `template_metadata.output_regex`, when
it has one, is tried first. The rules (and their corner cases) follow NeMo Gym's so that a row gets
the same reward from either server; the code is written for linear time on long answers.

- `strict_single_letter_boxed`: the last `\\boxed{...}` holds one capital letter, optionally padded
  (`\\boxed{ [C] }`), wrapped in `\\text{...}`, or followed by a label delimiter and option text
  (`\\boxed{C: 42}`).
- `lenient_boxed`: strict first; else the last box's content contains exactly one option's text.
- `lenient_answer_colon`: the first `Answer:` line is exactly a letter, or exactly an option's text.
- `lenient_answer_colon_md`: the last `Answer:` line (Markdown emphasis allowed, `**Answer: C**`)
  that yields a letter: a lone or leading letter, else the last standalone capital; a list of
  several letters (`A/B`, `A or B`) yields none.
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
_LABELLED_CAPITAL = re.compile(r"\s*([A-Z])\s*[:).\-]")
_ANSWER_COLON = re.compile(r"answer\s*:\s*(.+)", re.IGNORECASE)
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


def _last_box(text: str) -> str | None:
    """The content of the last `\\boxed{...}`, braces balanced; None when there is none or it is unclosed."""
    start = text.rfind(_BOX)
    if start == -1:
        return None
    depth = 1
    begin = start + len(_BOX)
    for index in range(begin, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[begin:index]
    return None


def _boxed_letter(text: str, letters: frozenset[str]) -> str | None:
    box = _last_box(text)
    if box is None:
        return None
    content = _unwrap_text(box.strip())
    match = _LONE_CAPITAL.fullmatch(content) or _LABELLED_CAPITAL.match(content)
    if match is None or match.group(1) not in letters:
        return None
    return match.group(1)


def _boxed_option_text(text: str, options: Options | None, letters: frozenset[str]) -> str | None:
    box = _last_box(text)
    if box is None:
        return None
    box = box.strip()
    candidates = {_normalize(box), _normalize(_unwrap_text(box))}
    found = {
        letter
        for letter, option in _option_texts(options, letters)
        if option and any(option in candidate for candidate in candidates)
    }
    return found.pop() if len(found) == 1 else None


def _strict(text: str, options: Options | None, letters: frozenset[str]) -> str | None:
    return _boxed_letter(text, letters)


def _lenient_boxed(text: str, options: Options | None, letters: frozenset[str]) -> str | None:
    return _boxed_letter(text, letters) or _boxed_option_text(text, options, letters)


def _answer_colon(text: str, options: Options | None, letters: frozenset[str]) -> str | None:
    match = _ANSWER_COLON.search(text)
    if match is None:
        return None
    payload = _unwrap_text(match.group(1)).strip()
    if len(payload) == 1 and payload.isalpha() and payload.upper() in letters:
        return payload.upper()
    wanted = _normalize(payload)
    return next((letter for letter, option in _option_texts(options, letters) if option == wanted), None)


def _is_choice_list(payload: str, letters: frozenset[str]) -> bool:
    """Whether `payload` names two different offered letters side by side, as in "A/B" or "A or B"."""
    tokens = [(m.group().upper(), m.start(), m.end()) for m in _LETTER_TOKEN.finditer(payload)]
    tokens = [token for token in tokens if token[0] in letters]
    return any(
        left[0] != right[0] and _LIST_SEPARATOR.fullmatch(payload, left[2], right[1]) is not None
        for left, right in zip(tokens, tokens[1:], strict=False)
    )


def _choice_letter(payload: str, letters: frozenset[str]) -> str | None:
    payload = payload.translate(_SCRIPT_LETTERS).strip().strip(_PAYLOAD_PUNCTUATION)
    if _is_choice_list(payload, letters):
        return None
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
    for payload in reversed(_ANSWER_COLON_MD.findall(text)):
        letter = _choice_letter(payload, letters)
        if letter is not None:
            return letter
    return None


_EXTRACTORS: dict[GradingMode, Callable[[str, Options | None, frozenset[str]], str | None]] = {
    "strict_single_letter_boxed": _strict,
    "lenient_boxed": _lenient_boxed,
    "lenient_answer_colon": _answer_colon,
    "lenient_answer_colon_md": _answer_colon_md,
}


def _custom_regex(text: str, pattern: str, options: Options | None, letters: frozenset[str]) -> str | None:
    """The letter a row's own regex captures in its last match (case-insensitive); None when it captures none.

    A captured single letter is taken as is, even if not among the options: the row's regex is
    trusted. Otherwise the capture must equal an option's text. An invalid regex captures nothing.
    """
    try:
        matches = re.findall(pattern, text, re.IGNORECASE)
    except re.error:
        return None
    if not matches:
        return None
    last = matches[-1]
    # With several groups findall gives tuples: the first group is the answer.
    captured = str(last[0] if isinstance(last, tuple) else last).strip().translate(_SCRIPT_LETTERS).strip().upper()
    if len(captured) == 1 and captured.isalpha():
        return captured
    wanted = _normalize(captured)
    return next((letter for letter, option in _option_texts(options, letters) if option == wanted), None)


def extract_letter(
    text: str, mode: GradingMode, options: Options | None, output_regex: Sequence[str] = ()
) -> str | None:
    """The option letter `text` chooses: by the first of `output_regex` that captures one, else by `mode`."""
    letters = option_letters(options)
    for pattern in output_regex:
        letter = _custom_regex(text, pattern, options, letters)
        if letter is not None:
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
