"""`length_constraints:*` and IFEvalG's `paragraphs:*`: how many words, sentences and paragraphs."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from gymhall.envs.instruction_following.instructions.base import Count, Instruction, Relation, Word, compare
from gymhall.envs.instruction_following.instructions.text import count_words, split_blocks, split_sentences

__all__ = [
    "NthParagraphFirstWord",
    "NumberOfParagraphs",
    "NumberOfSentences",
    "NumberOfWords",
    "TwoParagraphsBlankLine",
    "TwoParagraphsDivider",
]


class NumberOfWords(Instruction):
    """The response has fewer than / at least `num_words` words (runs of word characters)."""

    instruction_id = "length_constraints:number_words"

    num_words: Count
    relation: Relation

    def check(self, text: str) -> bool:
        return compare(count_words(text), self.relation, self.num_words)

    def describe(self) -> str:
        return f"Answer with {self.relation} {self.num_words} words."


class NumberOfSentences(Instruction):
    """The response has fewer than / at least `num_sentences` sentences (see `split_sentences`)."""

    instruction_id = "length_constraints:number_sentences"

    num_sentences: Count
    relation: Relation

    def check(self, text: str) -> bool:
        return compare(len(split_sentences(text)), self.relation, self.num_sentences)

    def describe(self) -> str:
        return f"Your response should contain {self.relation} {self.num_sentences} sentences."


_MARKDOWN_DIVIDER = re.compile(r"\s?\*\*\*\s?")


class NumberOfParagraphs(Instruction):
    """Exactly `num_paragraphs` paragraphs separated by the markdown divider *** (no empty one between two)."""

    instruction_id = "length_constraints:number_paragraphs"

    num_paragraphs: Count

    def check(self, text: str) -> bool:
        blocks = split_blocks(text, _MARKDOWN_DIVIDER)
        return blocks is not None and len(blocks) == self.num_paragraphs

    def describe(self) -> str:
        return (
            f"Your response should have {self.num_paragraphs} paragraphs, separated from each other "
            "by the markdown divider: ***"
        )


class NthParagraphFirstWord(Instruction):
    """Exactly `num_paragraphs` paragraphs split by blank lines; paragraph `nth_paragraph` starts with `first_word`.

    The first word is the paragraph's first whitespace-separated token, without leading quotes and
    cut at the first . , ? ! ' or ", compared case-insensitively.
    """

    instruction_id = "length_constraints:nth_paragraph_first_word"

    num_paragraphs: int = Field(ge=1)
    nth_paragraph: int = Field(ge=1)
    first_word: Word

    @model_validator(mode="after")
    def _nth_within(self) -> NthParagraphFirstWord:
        if self.nth_paragraph > self.num_paragraphs:
            raise ValueError(f"nth_paragraph ({self.nth_paragraph}) is past num_paragraphs ({self.num_paragraphs})")
        return self

    def check(self, text: str) -> bool:
        # Blank lines around the whole text open no paragraph (IFEval counts an empty first one,
        # so an answer after a blank line fails "paragraph 1 starts with ..."; see the README).
        pieces = text.strip().split("\n\n")
        if sum(1 for piece in pieces if piece.strip()) != self.num_paragraphs:
            return False
        # Counted among all pieces, blank ones between paragraphs included, as IFEval does.
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


class TwoParagraphsDivider(Instruction):
    """Exactly two paragraphs separated by the markdown divider ***."""

    instruction_id = "paragraphs:paragraphs"

    def check(self, text: str) -> bool:
        blocks = split_blocks(text, _MARKDOWN_DIVIDER)
        return blocks is not None and len(blocks) == 2

    def describe(self) -> str:
        return "There should be 2 paragraphs, separated from each other by the markdown divider: ***"


class TwoParagraphsBlankLine(Instruction):
    """Exactly two paragraphs separated by a blank line (two line breaks)."""

    instruction_id = "paragraphs:paragraphs2"

    def check(self, text: str) -> bool:
        blocks = split_blocks(text, "\n\n")
        return blocks is not None and len(blocks) == 2

    def describe(self) -> str:
        return "There should be 2 paragraphs. Paragraphs and only paragraphs are separated by two line breaks."
