"""`keywords:*`: which words and letters appear, and how often."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import Field, field_validator

from gymhall.envs.instruction_following.instructions.base import Count, Instruction, Relation, Word, compare
from gymhall.envs.instruction_following.instructions.text import word_tokens

__all__ = ["ForbiddenWords", "KeywordFrequency", "KeywordsExist", "LetterFrequency", "StartEndSameWord"]


class KeywordsExist(Instruction):
    """Every keyword appears (case-insensitive, anywhere, also inside longer words)."""

    instruction_id = "keywords:existence"

    keywords: list[str] = Field(min_length=1)

    def check(self, text: str) -> bool:
        lowered = text.lower()
        return all(keyword.lower() in lowered for keyword in self.keywords)

    def describe(self) -> str:
        return f"Include the keywords {_listing(self.keywords)} in your response."


class KeywordFrequency(Instruction):
    """The keyword occurs fewer than / at least `frequency` times (case-insensitive substring count)."""

    instruction_id = "keywords:frequency"

    keyword: Word
    frequency: Count
    relation: Relation

    def check(self, text: str) -> bool:
        keyword = self.keyword.strip().lower()
        return compare(text.lower().count(keyword) if keyword else 0, self.relation, self.frequency)

    def describe(self) -> str:
        return f"In your response, the word {self.keyword} should appear {self.relation} {self.frequency} times."


class ForbiddenWords(Instruction):
    """None of the words appears as a whole word (case-insensitive)."""

    instruction_id = "keywords:forbidden_words"

    forbidden_words: list[str] = Field(min_length=1)

    def check(self, text: str) -> bool:
        return not any(re.search(rf"\b{re.escape(word)}\b", text, flags=re.IGNORECASE) for word in self.forbidden_words)

    def describe(self) -> str:
        return f"Do not use the words {_listing(self.forbidden_words)} anywhere in your response."


class LetterFrequency(Instruction):
    """The letter (either case) occurs fewer than / at least `let_frequency` times."""

    instruction_id = "keywords:letter_frequency"

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
        return compare(text.lower().count(self.letter), self.let_relation, self.let_frequency)

    def describe(self) -> str:
        return (
            f"In your response, the letter {self.letter} should appear {self.let_relation} {self.let_frequency} times."
        )


class StartEndSameWord(Instruction):
    """The first and last tokens are the same word (case-insensitive); trailing punctuation is a token, so it fails."""

    instruction_id = "keywords:start_end"

    def check(self, text: str) -> bool:
        tokens = word_tokens(text)
        return len(tokens) >= 2 and tokens[0].lower() == tokens[-1].lower()

    def describe(self) -> str:
        return (
            "Start and end your response with the same word, with nothing after that last word, not even punctuation."
        )


def _listing(words: Sequence[str]) -> str:
    quoted = [f"'{word}'" for word in words]
    return quoted[0] if len(quoted) == 1 else " and ".join([", ".join(quoted[:-1]), quoted[-1]])
