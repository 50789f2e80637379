"""`change_case:*`, `count:lowercase_counting` and `letters:letter_counting`: letter case and letter counts."""

from __future__ import annotations

import re

from gymhall.envs.instruction_following.instructions.base import Count, Instruction, Relation, compare
from gymhall.envs.instruction_following.instructions.text import word_tokens

__all__ = ["AllCapitals", "AllLowercase", "CapitalWordFrequency", "LetterCount", "LowercaseWordCount"]


class AllCapitals(Instruction):
    """Every cased letter is a capital, and there is at least one (the language itself is not detected)."""

    instruction_id = "change_case:english_capital"

    def check(self, text: str) -> bool:
        return text.isupper()

    def describe(self) -> str:
        return "Your entire response should be in English, and in all capital letters."


class AllLowercase(Instruction):
    """Every cased letter is lowercase, and there is at least one (the language itself is not detected)."""

    instruction_id = "change_case:english_lowercase"

    def check(self, text: str) -> bool:
        return text.islower()

    def describe(self) -> str:
        return (
            "Your entire response should be in English, and in all lowercase letters. No capital letters are allowed."
        )


class CapitalWordFrequency(Instruction):
    """Fewer than / at least `capital_frequency` words in all capitals (word tokens, see `word_tokens`)."""

    instruction_id = "change_case:capital_word_frequency"

    capital_frequency: Count
    capital_relation: Relation

    def check(self, text: str) -> bool:
        capitals = sum(1 for token in word_tokens(text) if token.isupper())
        return compare(capitals, self.capital_relation, self.capital_frequency)

    def describe(self) -> str:
        return (
            f"In your response, words in all capital letters should appear {self.capital_relation} "
            f"{self.capital_frequency} times."
        )


class LowercaseWordCount(Instruction):
    """At most `N` all-lowercase words (runs of a-z between word boundaries)."""

    instruction_id = "count:lowercase_counting"

    N: Count

    def check(self, text: str) -> bool:
        return len(re.findall(r"\b[a-z]+\b", text)) <= self.N

    def describe(self) -> str:
        return f"In your response, all lowercase words should appear at most {self.N} times."


class LetterCount(Instruction):
    """Fewer than / at least `N` ASCII letters in all."""

    instruction_id = "letters:letter_counting"

    N: Count
    relation: Relation

    def check(self, text: str) -> bool:
        return compare(len(re.findall(r"[a-zA-Z]", text)), self.relation, self.N)

    def describe(self) -> str:
        return f"Answer with {self.relation} {self.N} letters."
