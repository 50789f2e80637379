"""`detectable_format:*`: bullet lists, fixed answers, highlights, sections, JSON and a title."""

from __future__ import annotations

import json
import re

from gymhall.envs.instruction_following.instructions.base import Count, Instruction, Word

__all__ = ["BulletPoints", "ConstrainedResponse", "HighlightedSections", "JsonFormat", "Sections", "Title"]


class BulletPoints(Instruction):
    """Exactly `num_bullets` markdown bullet points: lines starting with "* " or "-"."""

    instruction_id = "detectable_format:number_bullet_lists"

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


class ConstrainedResponse(Instruction):
    """The response contains one of the fixed answers (case-sensitive)."""

    instruction_id = "detectable_format:constrained_response"

    def check(self, text: str) -> bool:
        return any(option in text for option in _CONSTRAINED_RESPONSES)

    def describe(self) -> str:
        return "Answer with one of the following options: " + " / ".join(f'"{o}"' for o in _CONSTRAINED_RESPONSES)


class HighlightedSections(Instruction):
    """At least `num_highlights` non-blank spans in *single* or **double** asterisks, each on one line."""

    instruction_id = "detectable_format:number_highlighted_sections"

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


class Sections(Instruction):
    """At least `num_sections` section headers: `section_spliter` then a number, e.g. "Section 1" (case-sensitive)."""

    instruction_id = "detectable_format:multiple_sections"

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


class JsonFormat(Instruction):
    """The whole response is JSON, optionally inside a ``` or ```json code fence."""

    instruction_id = "detectable_format:json_format"

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


class Title(Instruction):
    """A non-blank title in double angular brackets on one line, such as <<poem of joy>>."""

    instruction_id = "detectable_format:title"

    def check(self, text: str) -> bool:
        return any(title.lstrip("<").rstrip(">").strip() for title in re.findall(r"<<[^\n]+>>", text))

    def describe(self) -> str:
        return "Your answer must contain a title, wrapped in double angular brackets, such as <<poem of joy>>."
