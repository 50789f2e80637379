"""Verifiable instructions (IFEval style): one small checker class per instruction id.

Each checker is a frozen pydantic model whose fields are the instruction's kwargs, so a row's
kwargs are validated (types, ranges, unknown keys) with one clear error. `check(text)` is a pure
function of the response text; `describe()` is the sentence a prompt uses to ask for it.

Ids and kwargs follow IFEval and its IFEvalG extension as NeMo Gym's instruction_following
server reads them (`instruction_id_list`, `kwargs`). Where the original counts with NLTK's models
(sentences, word tokens) or detects the language, the pure-Python stand-ins here are documented
on the checker and in the README.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "INSTRUCTIONS",
    "Instruction",
    "InstructionError",
    "build_instruction",
    "count_words",
    "loose_variants",
    "split_sentences",
    "word_tokens",
]

Relation = Literal["less than", "at least"]
Word = Annotated[str, Field(min_length=1)]
Count = Annotated[int, Field(ge=0)]

InstructionClass = TypeVar("InstructionClass", bound="type[Instruction]")


class InstructionError(ValueError):
    """An instruction id is unknown or its kwargs are invalid; the message names which and why."""


# --- text measures -------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
# Word tokens with their punctuation as separate tokens, as NLTK's word_tokenize gives them (close to it:
# hyphenated words stay one token as there, but "don't" is one token here where NLTK makes "do", "n't").
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
# A sentence ends at . ! ? (or a run of them), then any closing quotes or brackets, then a space or the end.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st jr sr vs etc inc ltd co no fig e.g i.e cf approx".split())
_INITIALISM = re.compile(r"^(?:[a-z]\.)+[a-z]$")  # "U.S", "a.m" (the final period is the candidate end)


def count_words(text: str) -> int:
    """Runs of word characters (letters, digits, underscore), as IFEval counts words."""
    return len(_WORD.findall(text))


def word_tokens(text: str) -> list[str]:
    """Words (hyphens and apostrophes inside them allowed) and single punctuation marks."""
    return _TOKEN.findall(text)


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`: split after . ! or ? followed by a space or the end.

    A period after a known abbreviation ("Dr.", "e.g."), a single capital (an initial) or an
    initialism ("U.S.") does not end a sentence. Line breaks alone do not either, so a title line
    joins the sentence after it.
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.group().startswith(".") and len(match.group().rstrip("\"'”’)]")) == 1:
            before = text[start : match.start()].split()
            word = before[-1].lstrip("(\"'") if before else ""
            last = word.lower()
            if last in _ABBREVIATIONS or (len(word) == 1 and word.isupper()) or _INITIALISM.match(last):
                continue
        sentence = text[start : match.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _compare(actual: int, relation: Relation, threshold: int) -> bool:
    return actual < threshold if relation == "less than" else actual >= threshold


def _split_blocks(text: str, separator: re.Pattern[str] | str) -> list[str] | None:
    """Blocks of `text` between separators; None when a block in the middle is blank.

    Blank blocks at either end (a separator before the first or after the last block) are dropped.
    """
    blocks = separator.split(text) if isinstance(separator, re.Pattern) else text.split(separator)
    kept = []
    for index, block in enumerate(blocks):
        if block.strip():
            kept.append(block)
        elif 0 < index < len(blocks) - 1:
            return None
    return kept


def loose_variants(text: str) -> list[str]:
    """IFEval's loose-evaluation variants: without its first line, its last line, or both; without asterisks.

    The first variant is `text` itself, so whatever passes strict evaluation passes loose evaluation.
    """
    lines = text.split("\n")
    trimmed = [text, "\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    return trimmed + [variant.replace("*", "") for variant in trimmed]


# --- the instructions ----------------------------------------------------------------------------


class Instruction(BaseModel):
    """One verifiable instruction; its fields are the instruction's kwargs."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    instruction_id: ClassVar[str]

    def check(self, text: str) -> bool:
        """Whether `text` follows the instruction."""
        raise NotImplementedError

    def describe(self) -> str:
        """The instruction as a prompt states it."""
        raise NotImplementedError


INSTRUCTIONS: dict[str, type[Instruction]] = {}
"""Every instruction this environment can check, by id."""


def _register(instruction_id: str) -> Callable[[InstructionClass], InstructionClass]:
    def register(cls: InstructionClass) -> InstructionClass:
        cls.instruction_id = instruction_id
        INSTRUCTIONS[instruction_id] = cls
        return cls

    return register


def build_instruction(instruction_id: str, kwargs: Mapping[str, Any] | None) -> Instruction:
    """The checker of `instruction_id` with `kwargs`; raises `InstructionError` naming what is wrong.

    Kwargs whose value is None are ignored, as NeMo Gym does (datasets often carry every
    instruction's kwargs keys, unset ones as null).
    """
    cls = INSTRUCTIONS.get(instruction_id)
    if cls is None:
        known = ", ".join(sorted(INSTRUCTIONS))
        raise InstructionError(f"unknown instruction id {instruction_id!r}; known ids: {known}")
    given = {key: value for key, value in (kwargs or {}).items() if value is not None}
    try:
        return cls.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'kwargs'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        expected = ", ".join(cls.model_fields) or "none"
        raise InstructionError(
            f"invalid kwargs for {instruction_id!r} ({problems}); its kwargs are: {expected}"
        ) from None


# keywords


@_register("keywords:existence")
class KeywordsExist(Instruction):
    """Every keyword appears (case-insensitive, anywhere, also inside longer words)."""

    keywords: list[str] = Field(min_length=1)

    def check(self, text: str) -> bool:
        lowered = text.lower()
        return all(keyword.lower() in lowered for keyword in self.keywords)

    def describe(self) -> str:
        return f"Include the keywords {_listing(self.keywords)} in your response."


@_register("keywords:frequency")
class KeywordFrequency(Instruction):
    """The keyword occurs fewer than / at least `frequency` times (case-insensitive substring count)."""

    keyword: Word
    frequency: Count
    relation: Relation

    def check(self, text: str) -> bool:
        keyword = self.keyword.strip().lower()
        return _compare(text.lower().count(keyword) if keyword else 0, self.relation, self.frequency)

    def describe(self) -> str:
        return f"In your response, the word {self.keyword} should appear {self.relation} {self.frequency} times."


@_register("keywords:forbidden_words")
class ForbiddenWords(Instruction):
    """None of the words appears as a whole word (case-insensitive)."""

    forbidden_words: list[str] = Field(min_length=1)

    def check(self, text: str) -> bool:
        return not any(re.search(rf"\b{re.escape(word)}\b", text, flags=re.IGNORECASE) for word in self.forbidden_words)

    def describe(self) -> str:
        return f"Do not use the words {_listing(self.forbidden_words)} anywhere in your response."


@_register("keywords:letter_frequency")
class LetterFrequency(Instruction):
    """The letter (either case) occurs fewer than / at least `let_frequency` times."""

    letter: str
    let_frequency: Count
    let_relation: Relation

    @field_validator("letter")
    @classmethod
    def _one_letter(cls, value: str) -> str:
        value = value.strip().lower()
        if len(value) != 1 or not "a" <= value <= "z":
            raise ValueError("must be one letter a-z")
        return value

    def check(self, text: str) -> bool:
        return _compare(text.lower().count(self.letter), self.let_relation, self.let_frequency)

    def describe(self) -> str:
        return (
            f"In your response, the letter {self.letter} should appear {self.let_relation} {self.let_frequency} times."
        )


@_register("keywords:start_end")
class StartEndSameWord(Instruction):
    """The first and last tokens are the same word (case-insensitive); trailing punctuation is a token, so it fails."""

    def check(self, text: str) -> bool:
        tokens = word_tokens(text)
        return len(tokens) >= 2 and tokens[0].lower() == tokens[-1].lower()

    def describe(self) -> str:
        return (
            "Start and end your response with the same word, with nothing after that last word, not even punctuation."
        )


# length constraints


@_register("length_constraints:number_words")
class NumberOfWords(Instruction):
    """The response has fewer than / at least `num_words` words (runs of word characters)."""

    num_words: Count
    relation: Relation

    def check(self, text: str) -> bool:
        return _compare(count_words(text), self.relation, self.num_words)

    def describe(self) -> str:
        return f"Answer with {self.relation} {self.num_words} words."


@_register("length_constraints:number_sentences")
class NumberOfSentences(Instruction):
    """The response has fewer than / at least `num_sentences` sentences (see `split_sentences`)."""

    num_sentences: Count
    relation: Relation

    def check(self, text: str) -> bool:
        return _compare(len(split_sentences(text)), self.relation, self.num_sentences)

    def describe(self) -> str:
        return f"Your response should contain {self.relation} {self.num_sentences} sentences."


_MARKDOWN_DIVIDER = re.compile(r"\s?\*\*\*\s?")


@_register("length_constraints:number_paragraphs")
class NumberOfParagraphs(Instruction):
    """Exactly `num_paragraphs` paragraphs separated by the markdown divider *** (no empty one between two)."""

    num_paragraphs: Count

    def check(self, text: str) -> bool:
        blocks = _split_blocks(text, _MARKDOWN_DIVIDER)
        return blocks is not None and len(blocks) == self.num_paragraphs

    def describe(self) -> str:
        return (
            f"Your response should have {self.num_paragraphs} paragraphs, separated from each other "
            "by the markdown divider: ***"
        )


@_register("length_constraints:nth_paragraph_first_word")
class NthParagraphFirstWord(Instruction):
    """Exactly `num_paragraphs` paragraphs split by blank lines; paragraph `nth_paragraph` starts with `first_word`.

    The first word is the paragraph's first whitespace-separated token, without leading quotes and
    cut at the first . , ? ! ' or ", compared case-insensitively.
    """

    num_paragraphs: int = Field(ge=1)
    nth_paragraph: int = Field(ge=1)
    first_word: Word

    @model_validator(mode="after")
    def _nth_within(self) -> NthParagraphFirstWord:
        if self.nth_paragraph > self.num_paragraphs:
            raise ValueError(f"nth_paragraph ({self.nth_paragraph}) is past num_paragraphs ({self.num_paragraphs})")
        return self

    def check(self, text: str) -> bool:
        pieces = text.split("\n\n")
        if sum(1 for piece in pieces if piece.strip()) != self.num_paragraphs:
            return False
        # Counted among all pieces, blank ones included, as IFEval does.
        paragraph = pieces[self.nth_paragraph - 1].strip() if self.nth_paragraph <= len(pieces) else ""
        if not paragraph:
            return False
        word = re.split(r"[.,?!'\"]", paragraph.split()[0].lstrip("'").lstrip('"'), maxsplit=1)[0]
        return word.lower() == self.first_word.strip().lower()

    def describe(self) -> str:
        return (
            f"Your response should have {self.num_paragraphs} paragraphs, and only paragraphs are separated "
            f"by two line breaks (a blank line). Paragraph {self.nth_paragraph} must start with the word "
            f"{self.first_word}."
        )


# detectable content


@_register("detectable_content:number_placeholders")
class Placeholders(Instruction):
    """At least `num_placeholders` placeholders in square brackets, such as [address]."""

    num_placeholders: Count

    def check(self, text: str) -> bool:
        # What the lazy pattern \[.*?\] counts, found in one pass: the first [ of a line opens, the next ] closes.
        found = 0
        for line in text.split("\n"):
            opened = False
            for char in line:
                if char == "[":
                    opened = True
                elif char == "]" and opened:
                    found += 1
                    opened = False
        return found >= self.num_placeholders

    def describe(self) -> str:
        return (
            f"Your response must contain at least {self.num_placeholders} placeholders in square brackets, "
            "such as [address]."
        )


# The two usual markers also match with a space after a dot ("P. S."); any other marker matches as written.
_POSTSCRIPT_PATTERNS = {"P.P.S": r"p\.\s?p\.\s?s", "P.S.": r"p\.\s?s\."}


@_register("detectable_content:postscript")
class Postscript(Instruction):
    """The response contains the postscript marker (P.S. and P.P.S allow a space after each dot; any case)."""

    postscript_marker: Word

    def check(self, text: str) -> bool:
        marker = self.postscript_marker.strip()
        pattern = _POSTSCRIPT_PATTERNS.get(marker, re.escape(marker.lower()))
        return re.search(pattern, text.lower()) is not None

    def describe(self) -> str:
        return f"At the end of your response, add a postscript starting with {self.postscript_marker.strip()}"


# detectable format


@_register("detectable_format:number_bullet_lists")
class BulletPoints(Instruction):
    """Exactly `num_bullets` markdown bullet points: lines starting with "* " or "-"."""

    num_bullets: Count

    def check(self, text: str) -> bool:
        stars = re.findall(r"^\s*\*[^*].*$", text, flags=re.MULTILINE)
        dashes = re.findall(r"^\s*-.*$", text, flags=re.MULTILINE)
        return len(stars) + len(dashes) == self.num_bullets

    def describe(self) -> str:
        return (
            f"Your answer must contain exactly {self.num_bullets} bullet points, in markdown:\n"
            "* This is the first point.\n* This is the second point."
        )


_CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


@_register("detectable_format:constrained_response")
class ConstrainedResponse(Instruction):
    """The response contains one of the fixed answers (case-sensitive)."""

    def check(self, text: str) -> bool:
        return any(option in text for option in _CONSTRAINED_RESPONSES)

    def describe(self) -> str:
        return "Answer with one of the following options: " + " / ".join(f'"{o}"' for o in _CONSTRAINED_RESPONSES)


@_register("detectable_format:number_highlighted_sections")
class HighlightedSections(Instruction):
    """At least `num_highlights` non-blank spans in *single* or **double** asterisks, each on one line."""

    num_highlights: Count

    def check(self, text: str) -> bool:
        single = [span for span in re.findall(r"\*[^\n*]*\*", text) if span.strip("*").strip()]
        double = [span for span in re.findall(r"\*\*[^\n*]*\*\*", text) if span[2:-2].strip()]
        return len(single) + len(double) >= self.num_highlights

    def describe(self) -> str:
        return (
            f"Highlight at least {self.num_highlights} sections of your answer with markdown, "
            "i.e. *highlighted section*."
        )


@_register("detectable_format:multiple_sections")
class Sections(Instruction):
    """At least `num_sections` section headers: `section_spliter` then a number, e.g. "Section 1" (case-sensitive)."""

    section_spliter: Word
    num_sections: Count

    def check(self, text: str) -> bool:
        header = rf"\s?{re.escape(self.section_spliter.strip())}\s?\d+\s?"
        return len(re.findall(header, text)) >= self.num_sections

    def describe(self) -> str:
        splitter = self.section_spliter.strip()
        return (
            f"Your response must have {self.num_sections} sections. Mark the beginning of each section "
            f"with {splitter} X, for example:\n{splitter} 1\n[content of section 1]\n{splitter} 2\n"
            "[content of section 2]"
        )


@_register("detectable_format:json_format")
class JsonFormat(Instruction):
    """The whole response is JSON, optionally inside a ``` or ```json code fence."""

    def check(self, text: str) -> bool:
        body = text.strip()
        for fence in ("```json", "```Json", "```JSON", "```"):
            body = body.removeprefix(fence)
        body = body.removesuffix("```").strip()
        try:
            json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
            return False
        return True

    def describe(self) -> str:
        return "Your entire output should be wrapped in JSON format. You can use markdown ticks such as ```."


@_register("detectable_format:title")
class Title(Instruction):
    """A non-blank title in double angular brackets on one line, such as <<poem of joy>>."""

    def check(self, text: str) -> bool:
        return any(title.lstrip("<").rstrip(">").strip() for title in re.findall(r"<<[^\n]+>>", text))

    def describe(self) -> str:
        return "Your answer must contain a title, wrapped in double angular brackets, such as <<poem of joy>>."


# combinations


@_register("combination:two_responses")
class TwoResponses(Instruction):
    """Exactly two different non-blank responses separated by six asterisks ******."""

    def check(self, text: str) -> bool:
        blocks = _split_blocks(text, "******")
        return blocks is not None and len(blocks) == 2 and blocks[0].strip() != blocks[1].strip()

    def describe(self) -> str:
        return "Give two different responses. Responses and only responses should be separated by 6 asterisks: ******."


@_register("combination:repeat_prompt")
class RepeatPrompt(Instruction):
    """The response starts with `prompt_to_repeat` (case-insensitive, surrounding whitespace ignored)."""

    prompt_to_repeat: Word

    def check(self, text: str) -> bool:
        return text.strip().lower().startswith(self.prompt_to_repeat.strip().lower())

    def describe(self) -> str:
        return (
            "First repeat the request word for word without change, then give your answer (do not say anything "
            "before repeating the request, and do not repeat these constraints)."
        )


# start and end


@_register("startend:end_checker")
class EndPhrase(Instruction):
    """The response ends with `end_phrase` (case-insensitive; surrounding whitespace and double quotes ignored)."""

    end_phrase: Word

    def check(self, text: str) -> bool:
        return text.strip().strip('"').lower().endswith(self.end_phrase.strip().lower())

    def describe(self) -> str:
        return (
            f"Finish your response with this exact phrase: {self.end_phrase.strip()} No other words should follow it."
        )


@_register("startend:quotation")
class Quotation(Instruction):
    """The whole response (surrounding whitespace ignored) is wrapped in double quotation marks."""

    def check(self, text: str) -> bool:
        body = text.strip()
        return len(body) > 1 and body[0] == '"' and body[-1] == '"'

    def describe(self) -> str:
        return "Wrap your entire response in double quotation marks."


@_register("first_word:first_word_answer")
class FirstWordOfAnswer(Instruction):
    """The response's first whitespace-separated token is `first_word` (case-insensitive, punctuation kept)."""

    first_word: Word

    def check(self, text: str) -> bool:
        words = text.split()
        return bool(words) and words[0].lower() == self.first_word.strip().lower()

    def describe(self) -> str:
        return f"The first word of your response should be the word {self.first_word.strip()}."


@_register("first_word:first_word_sent")
class FirstWordOfSentences(Instruction):
    """Every sentence (see `split_sentences`) starts with the token `first_word` (case-insensitive)."""

    first_word: Word

    def check(self, text: str) -> bool:
        expected = self.first_word.strip().lower()
        return all(sentence.split()[0].lower() == expected for sentence in split_sentences(text))

    def describe(self) -> str:
        return f"The first word of each sentence should be the word {self.first_word.strip()}."


def _bare(token: str) -> str:
    return re.sub(r"[^\w\s]", "", token).lower()


@_register("last_word:last_word_answer")
class LastWordOfAnswer(Instruction):
    """The response's last token, without punctuation, is `last_word` (case-insensitive)."""

    last_word: Word

    def check(self, text: str) -> bool:
        words = text.split()
        return bool(words) and _bare(words[-1]) == self.last_word.strip().lower()

    def describe(self) -> str:
        return f"The last word of your response should be the word {self.last_word.strip()}."


@_register("last_word:last_word_sent")
class LastWordOfSentences(Instruction):
    """Every sentence's last token, without punctuation, is `last_word` (case-insensitive)."""

    last_word: Word

    def check(self, text: str) -> bool:
        expected = self.last_word.strip().lower()
        return all(_bare(sentence.split()[-1]) == expected for sentence in split_sentences(text))

    def describe(self) -> str:
        return f"The last word of each sentence, before punctuation, should be the word {self.last_word.strip()}."


# case


@_register("change_case:english_capital")
class AllCapitals(Instruction):
    """Every cased letter is a capital, and there is at least one (the language itself is not detected)."""

    def check(self, text: str) -> bool:
        return text.isupper()

    def describe(self) -> str:
        return "Your entire response should be in English, and in all capital letters."


@_register("change_case:english_lowercase")
class AllLowercase(Instruction):
    """Every cased letter is lowercase, and there is at least one (the language itself is not detected)."""

    def check(self, text: str) -> bool:
        return text.islower()

    def describe(self) -> str:
        return (
            "Your entire response should be in English, and in all lowercase letters. No capital letters are allowed."
        )


@_register("change_case:capital_word_frequency")
class CapitalWordFrequency(Instruction):
    """Fewer than / at least `capital_frequency` words in all capitals (word tokens, see `word_tokens`)."""

    capital_frequency: Count
    capital_relation: Relation

    def check(self, text: str) -> bool:
        capitals = sum(1 for token in word_tokens(text) if token.isupper())
        return _compare(capitals, self.capital_relation, self.capital_frequency)

    def describe(self) -> str:
        return (
            f"In your response, words in all capital letters should appear {self.capital_relation} "
            f"{self.capital_frequency} times."
        )


@_register("count:lowercase_counting")
class LowercaseWordCount(Instruction):
    """At most `N` all-lowercase words (runs of a-z between word boundaries)."""

    N: Count

    def check(self, text: str) -> bool:
        return len(re.findall(r"\b[a-z]+\b", text)) <= self.N

    def describe(self) -> str:
        return f"In your response, all lowercase words should appear at most {self.N} times."


@_register("letters:letter_counting")
class LetterCount(Instruction):
    """Fewer than / at least `N` ASCII letters in all."""

    N: Count
    relation: Relation

    def check(self, text: str) -> bool:
        return _compare(len(re.findall(r"[a-zA-Z]", text)), self.relation, self.N)

    def describe(self) -> str:
        return f"Answer with {self.relation} {self.N} letters."


# punctuation


@_register("punctuation:no_comma")
class NoComma(Instruction):
    """No comma anywhere."""

    def check(self, text: str) -> bool:
        return "," not in text

    def describe(self) -> str:
        return "In your entire response, refrain from the use of any commas."


@_register("punctuation:punctuation_dot")
class NoDot(Instruction):
    """No period (dot) anywhere."""

    def check(self, text: str) -> bool:
        return "." not in text

    def describe(self) -> str:
        return "In your entire response, refrain from the use of . (dots), as punctuation or otherwise."


@_register("punctuation:punctuation_exclamation")
class NoExclamation(Instruction):
    """No exclamation mark anywhere."""

    def check(self, text: str) -> bool:
        return "!" not in text

    def describe(self) -> str:
        return "In your entire response, refrain from the use of ! (exclamation marks), as punctuation or otherwise."


# paragraphs (IFEvalG)


@_register("paragraphs:paragraphs")
class TwoParagraphsDivider(Instruction):
    """Exactly two paragraphs separated by the markdown divider ***."""

    def check(self, text: str) -> bool:
        blocks = _split_blocks(text, _MARKDOWN_DIVIDER)
        return blocks is not None and len(blocks) == 2

    def describe(self) -> str:
        return "There should be 2 paragraphs, separated from each other by the markdown divider: ***"


@_register("paragraphs:paragraphs2")
class TwoParagraphsBlankLine(Instruction):
    """Exactly two paragraphs separated by a blank line (two line breaks)."""

    def check(self, text: str) -> bool:
        blocks = _split_blocks(text, "\n\n")
        return blocks is not None and len(blocks) == 2

    def describe(self) -> str:
        return "There should be 2 paragraphs. Paragraphs and only paragraphs are separated by two line breaks."


def _listing(words: Sequence[str]) -> str:
    quoted = [f"'{word}'" for word in words]
    return quoted[0] if len(quoted) == 1 else " and ".join([", ".join(quoted[:-1]), quoted[-1]])
