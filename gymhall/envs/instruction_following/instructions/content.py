"""`detectable_content:*` and `combination:*`: placeholders, a postscript, two responses, the repeated prompt."""

from __future__ import annotations

import re

from gymhall.envs.instruction_following.instructions.base import Count, Instruction, Word
from gymhall.envs.instruction_following.instructions.text import split_blocks

__all__ = ["Placeholders", "Postscript", "RepeatPrompt", "TwoResponses"]


class Placeholders(Instruction):
    """At least `num_placeholders` placeholders in square brackets, such as [address]."""

    instruction_id = "detectable_content:number_placeholders"

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


class Postscript(Instruction):
    """The response contains the postscript marker (P.S. and P.P.S allow a space after each dot; any case)."""

    instruction_id = "detectable_content:postscript"

    postscript_marker: Word

    def check(self, text: str) -> bool:
        marker = self.postscript_marker.strip()
        pattern = _POSTSCRIPT_PATTERNS.get(marker, re.escape(marker.lower()))
        return re.search(pattern, text.lower()) is not None

    def describe(self) -> str:
        return f"At the end of your response, add a postscript starting with {self.postscript_marker.strip()}"


class TwoResponses(Instruction):
    """Exactly two different non-blank responses separated by six asterisks ******."""

    instruction_id = "combination:two_responses"

    def check(self, text: str) -> bool:
        blocks = split_blocks(text, "******")
        return blocks is not None and len(blocks) == 2 and blocks[0].strip() != blocks[1].strip()

    def describe(self) -> str:
        return "Give two different responses. Responses and only responses should be separated by 6 asterisks: ******."


class RepeatPrompt(Instruction):
    """The response starts with `prompt_to_repeat` (case-insensitive, surrounding whitespace ignored)."""

    instruction_id = "combination:repeat_prompt"

    prompt_to_repeat: Word

    def check(self, text: str) -> bool:
        return text.strip().lower().startswith(self.prompt_to_repeat.strip().lower())

    def describe(self) -> str:
        return (
            "First repeat the request word for word without change, then give your answer (do not say anything "
            "before repeating the request, and do not repeat these constraints)."
        )
