"""`punctuation:*`: a punctuation mark that must not appear."""

from __future__ import annotations

from gymhall.envs.instruction_following.instructions.base import Instruction

__all__ = ["NoComma", "NoDot", "NoExclamation"]


class NoComma(Instruction):
    """No comma anywhere."""

    instruction_id = "punctuation:no_comma"

    def check(self, text: str) -> bool:
        return "," not in text

    def describe(self) -> str:
        return "In your entire response, refrain from the use of any commas."


class NoDot(Instruction):
    """No period (dot) anywhere."""

    instruction_id = "punctuation:punctuation_dot"

    def check(self, text: str) -> bool:
        return "." not in text

    def describe(self) -> str:
        return "In your entire response, refrain from the use of . (dots), as punctuation or otherwise."


class NoExclamation(Instruction):
    """No exclamation mark anywhere."""

    instruction_id = "punctuation:punctuation_exclamation"

    def check(self, text: str) -> bool:
        return "!" not in text

    def describe(self) -> str:
        return "In your entire response, refrain from the use of ! (exclamation marks), as punctuation or otherwise."
