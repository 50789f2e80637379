"""Which instructions contradict each other: the table the generator draws rows by, and tests check rows by.

Two instructions conflict when no answer can follow both as a careful reader understands them, or
when they can be read two ways and a careful answer may follow one reading and fail the checker
(the "exactly 2 bullet points" of a row that also asks for two responses: per response, or in
all?). The checkers may still pass a specially built answer; a row must not rely on that.

Each `Conflict` pairs two groups of ids. One with no `when` holds for any kwargs (the generator
never draws such a pair); one with `when` holds only for some kwargs (the generator draws the pair
and refuses the row if its kwargs fall in the condition).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from gymhall.envs.instruction_following.instructions import INSTRUCTIONS

__all__ = [
    "CONFLICTS",
    "CONSTRAINED_FRIENDLY",
    "JSON_FRIENDLY",
    "TWO_RESPONSES_FRIENDLY",
    "Conflict",
    "conflicts_of",
    "may_combine",
]

Kwargs = Mapping[str, Any]

TITLE = "detectable_format:title"
BULLETS = "detectable_format:number_bullet_lists"
HIGHLIGHTS = "detectable_format:number_highlighted_sections"
SECTIONS = "detectable_format:multiple_sections"
CONSTRAINED = "detectable_format:constrained_response"
JSON = "detectable_format:json_format"
TWO_RESPONSES = "combination:two_responses"
REPEAT = "combination:repeat_prompt"
POSTSCRIPT = "detectable_content:postscript"
PLACEHOLDERS = "detectable_content:number_placeholders"
END = "startend:end_checker"
QUOTATION = "startend:quotation"
FIRST_WORD = "first_word:first_word_answer"
LAST_WORD = "last_word:last_word_answer"
LOWERCASE = "change_case:english_lowercase"
CAPITALS = "change_case:english_capital"
CAPITAL_WORDS = "change_case:capital_word_frequency"
NO_COMMA = "punctuation:no_comma"
NO_EXCLAMATION = "punctuation:punctuation_exclamation"
NO_DOT = "punctuation:punctuation_dot"
EXISTENCE = "keywords:existence"
FORBIDDEN = "keywords:forbidden_words"
NTH_PARAGRAPH = "length_constraints:nth_paragraph_first_word"
LOWERCASE_WORDS = "count:lowercase_counting"

# Ways to lay out the whole answer: an answer has one layout.
LAYOUTS = frozenset(
    {
        "length_constraints:number_paragraphs",
        NTH_PARAGRAPH,
        "paragraphs:paragraphs",
        "paragraphs:paragraphs2",
        SECTIONS,
        TWO_RESPONSES,
        JSON,
    }
)
PARAGRAPH_COUNTS = frozenset(
    {"length_constraints:number_paragraphs", NTH_PARAGRAPH, "paragraphs:paragraphs", "paragraphs:paragraphs2"}
)
# Paragraphs counted between blank lines: any line set off by a blank line becomes one more.
BLANK_LINE_PARAGRAPHS = frozenset({"paragraphs:paragraphs2", NTH_PARAGRAPH})
CASES = frozenset({LOWERCASE, CAPITALS, CAPITAL_WORDS})
COUNTS = frozenset(
    {
        "length_constraints:number_words",
        "length_constraints:number_sentences",
        "letters:letter_counting",
        "keywords:frequency",
        "keywords:letter_frequency",
        CAPITAL_WORDS,
        LOWERCASE_WORDS,
    }
)
JSON_FRIENDLY = frozenset(
    {
        JSON,
        EXISTENCE,
        "keywords:frequency",
        FORBIDDEN,
        "keywords:letter_frequency",
        "length_constraints:number_words",
        "letters:letter_counting",
        NO_COMMA,
        NO_EXCLAMATION,
    }
)
"""Instructions a bare JSON answer can follow: it has no markdown, no prose start or end, no layout."""
CONSTRAINED_FRIENDLY = frozenset({CONSTRAINED, NO_COMMA, NO_EXCLAMATION, FORBIDDEN, QUOTATION})
"""Instructions an answer that is only "My answer is yes." (or no, or maybe) can follow."""
TWO_RESPONSES_FRIENDLY = frozenset(
    {
        TWO_RESPONSES,
        NO_COMMA,
        NO_EXCLAMATION,
        FORBIDDEN,
        EXISTENCE,
        LOWERCASE,
        CAPITALS,
        HIGHLIGHTS,
        PLACEHOLDERS,
        TITLE,
    }
)
"""Instructions that read the same whether "your response" means each of two responses or both."""


def _upper_bound(kwargs: Kwargs) -> bool:
    """A count that must stay under a limit ("less than", or "at most" for lowercase_counting)."""
    relations = {kwargs.get(key) for key in ("relation", "let_relation", "capital_relation")} - {None}
    return not relations or "less than" in relations


def _last_words_differ(end: Kwargs, last: Kwargs) -> bool:
    phrase = str(end.get("end_phrase", "")).split()
    word = "".join(ch for ch in (phrase[-1] if phrase else "") if ch.isalnum()).lower()
    return word != str(last.get("last_word", "")).strip().lower()


def _first_paragraph_word_differs(first: Kwargs, nth: Kwargs) -> bool:
    same = str(first.get("first_word", "")).lower() == str(nth.get("first_word", "")).lower()
    return nth.get("nth_paragraph") == 1 and not same


def _shared_keyword(existence: Kwargs, forbidden: Kwargs) -> bool:
    wanted = {str(word).lower() for word in existence.get("keywords") or ()}
    return bool(wanted & {str(word).lower() for word in forbidden.get("forbidden_words") or ()})


def _required_text(kwargs: Kwargs) -> str:
    return " ".join(str(kwargs.get(key, "")) for key in ("end_phrase", "prompt_to_repeat"))


@dataclass(frozen=True)
class Conflict:
    """Any id of `first` with any (other) id of `second` conflicts, always or only `when` their kwargs do."""

    first: frozenset[str]
    second: frozenset[str]
    why: str
    when: Callable[[Kwargs, Kwargs], bool] | None = None

    def holds(self, a: str, a_kwargs: Kwargs, b: str, b_kwargs: Kwargs) -> bool:
        """Whether instruction `a` with `a_kwargs` and `b` with `b_kwargs` conflict by this entry."""
        for x, x_kwargs, y, y_kwargs in ((a, a_kwargs, b, b_kwargs), (b, b_kwargs, a, a_kwargs)):
            if x != y and x in self.first and y in self.second:
                return self.when is None or self.when(x_kwargs, y_kwargs)
        return False


def _group(*ids: str) -> frozenset[str]:
    return frozenset(ids)


_EVERY = frozenset(INSTRUCTIONS)  # a "friendly" list leaves out every other id, new ones included

CONFLICTS: tuple[Conflict, ...] = (
    Conflict(LAYOUTS, LAYOUTS, "two layouts of the whole answer (paragraphs, sections, two responses, JSON)"),
    Conflict(CASES, CASES, "two rules for the case of the same words"),
    Conflict(_group(BULLETS), _group(HIGHLIGHTS), "a '* ' bullet and a *highlight* share the asterisk"),
    Conflict(
        _group(CONSTRAINED),
        _EVERY - CONSTRAINED_FRIENDLY,
        "the answer must be one fixed sentence, with no room for more content or structure",
    ),
    Conflict(_group(JSON), _EVERY - JSON_FRIENDLY, "the entire output must be JSON: no markdown, prose start or end"),
    Conflict(
        _group(TWO_RESPONSES),
        _EVERY - TWO_RESPONSES_FRIENDLY,
        "'your response' can mean each of the two responses or both: counts and ends read either way",
    ),
    Conflict(_group(REPEAT), _group(QUOTATION, FIRST_WORD), "the answer must start with the request itself"),
    Conflict(_group(REPEAT), _group(LOWERCASE, CAPITALS), "the request must be repeated without change"),
    Conflict(_group(REPEAT), PARAGRAPH_COUNTS, "whether the repeated request is a paragraph of its own is unclear"),
    Conflict(
        _group(REPEAT),
        COUNTS - {LOWERCASE_WORDS},
        "whether the repeated request counts toward an upper limit is unclear",
        lambda _repeat, count: _upper_bound(count),
    ),
    Conflict(
        _group(REPEAT), _group(LOWERCASE_WORDS), "whether the repeated request counts toward the limit is unclear"
    ),
    Conflict(_group(TITLE), _group(FIRST_WORD), "a title line comes first, before the first word"),
    Conflict(
        _group(TITLE, POSTSCRIPT, BULLETS),
        BLANK_LINE_PARAGRAPHS,
        "a title, postscript or list set off by a blank line reads as one more paragraph",
    ),
    Conflict(_group(POSTSCRIPT), _group(END), "both the postscript and the end phrase must come last"),
    Conflict(_group(POSTSCRIPT), _group(LOWERCASE), "the postscript marker is written in capitals"),
    Conflict(_group(END), _group(LOWERCASE, CAPITALS), "the exact end phrase has its own case"),
    Conflict(_group(SECTIONS), _group(LOWERCASE, CAPITALS), "the section marker has its own case"),
    Conflict(_group(FIRST_WORD), _group(QUOTATION), "the response must begin with a quotation mark"),
    Conflict(_group(END), _group(LAST_WORD), "the end phrase ends with another word", _last_words_differ),
    Conflict(_group(FIRST_WORD), _group(NTH_PARAGRAPH), "two different first words", _first_paragraph_word_differs),
    Conflict(_group(EXISTENCE), _group(FORBIDDEN), "a keyword that is also forbidden", _shared_keyword),
    Conflict(
        _group(NO_COMMA),
        _group(END, REPEAT),
        "the text it requires has a comma",
        lambda _none, required: "," in _required_text(required),
    ),
    Conflict(
        _group(NO_EXCLAMATION),
        _group(END, REPEAT),
        "the text it requires has an exclamation mark",
        lambda _none, required: "!" in _required_text(required),
    ),
)
"""Every pair of instructions a row must not combine (read in both directions)."""


def may_combine(chosen: Sequence[str], candidate: str) -> bool:
    """Whether `candidate` can join `chosen` whatever the kwargs (conditional conflicts are checked later)."""
    if candidate in chosen:
        return False
    return not any(
        entry.when is None and entry.holds(candidate, {}, other, {}) for entry in CONFLICTS for other in chosen
    )


def conflicts_of(ids: Sequence[str], kwargs: Sequence[Kwargs | None]) -> list[str]:
    """Every conflicting pair among a row's instructions, as "a + b: why" (empty for a sound row)."""
    found = []
    pairs = combinations(zip(ids, kwargs, strict=True), 2)
    for (a, a_kwargs), (b, b_kwargs) in pairs:
        for entry in CONFLICTS:
            if entry.holds(a, a_kwargs or {}, b, b_kwargs or {}):
                found.append(f"{a} + {b}: {entry.why}")
                break
    repeated = {i for i in ids if list(ids).count(i) > 1}
    found += [f"{i} twice: one instruction given twice" for i in sorted(repeated)]
    return found
