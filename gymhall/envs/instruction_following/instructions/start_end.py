"""`startend:*`, `first_word:*` and `last_word:*`: how the response and its sentences start and end."""

from __future__ import annotations

import re

from gymhall.envs.instruction_following.instructions.base import Instruction, Word
from gymhall.envs.instruction_following.instructions.text import split_sentences

__all__ = [
    "EndPhrase",
    "FirstWordOfAnswer",
    "FirstWordOfSentences",
    "LastWordOfAnswer",
    "LastWordOfSentences",
    "Quotation",
]


class EndPhrase(Instruction):
    """The response ends with `end_phrase` (case-insensitive; surrounding whitespace and double quotes ignored)."""

    instruction_id = "startend:end_checker"

    end_phrase: Word

    def check(self, text: str) -> bool:
        return text.strip().strip('"').lower().endswith(self.end_phrase.strip().lower())

    def describe(self) -> str:
        return (
            f"Finish your response with this exact phrase: {self.end_phrase.strip()} No other words should follow it."
        )


class Quotation(Instruction):
    """The whole response (surrounding whitespace ignored) is wrapped in double quotation marks."""

    instruction_id = "startend:quotation"

    def check(self, text: str) -> bool:
        body = text.strip()
        return len(body) > 1 and body[0] == '"' and body[-1] == '"'

    def describe(self) -> str:
        return "Wrap your entire response in double quotation marks."


class FirstWordOfAnswer(Instruction):
    """The response's first whitespace-separated token is `first_word` (case-insensitive, punctuation kept)."""

    instruction_id = "first_word:first_word_answer"

    first_word: Word

    def check(self, text: str) -> bool:
        words = text.split()
        return bool(words) and words[0].lower() == self.first_word.strip().lower()

    def describe(self) -> str:
        return f"The first word of your response should be the word {self.first_word.strip()}."


class FirstWordOfSentences(Instruction):
    """Every sentence (see `split_sentences`) starts with the token `first_word` (case-insensitive)."""

    instruction_id = "first_word:first_word_sent"

    first_word: Word

    def check(self, text: str) -> bool:
        expected = self.first_word.strip().lower()
        return all(sentence.split()[0].lower() == expected for sentence in split_sentences(text))

    def describe(self) -> str:
        return f"The first word of each sentence should be the word {self.first_word.strip()}."


def _bare(token: str) -> str:
    return re.sub(r"[^\w\s]", "", token).lower()


class LastWordOfAnswer(Instruction):
    """The response's last token, without punctuation, is `last_word` (case-insensitive)."""

    instruction_id = "last_word:last_word_answer"

    last_word: Word

    def check(self, text: str) -> bool:
        words = text.split()
        return bool(words) and _bare(words[-1]) == self.last_word.strip().lower()

    def describe(self) -> str:
        return f"The last word of your response should be the word {self.last_word.strip()}."


class LastWordOfSentences(Instruction):
    """Every sentence's last token, without punctuation, is `last_word` (case-insensitive)."""

    instruction_id = "last_word:last_word_sent"

    last_word: Word

    def check(self, text: str) -> bool:
        expected = self.last_word.strip().lower()
        return all(_bare(sentence.split()[-1]) == expected for sentence in split_sentences(text))

    def describe(self) -> str:
        return f"The last word of each sentence, before punctuation, should be the word {self.last_word.strip()}."
