"""Reading the model's answer: the code to test, and whether its reasoning format is broken."""

from __future__ import annotations

from typing import Any

__all__ = ["extract_code", "reasoning_format_violation"]


def extract_code(text: str) -> str:
    """The code between the last two lines holding a ``` fence ("" when there are fewer than two).

    The same rule as NeMo Gym's code_gen (LiveCodeBench's OpenAI-chat style), so answers extract alike.
    """
    lines = text.split("\n")
    fences = [index for index, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[-2] + 1 : fences[-1]])


def reasoning_format_violation(response: Any) -> bool:
    """Whether think tags leaked into the final answer, or the reasoning holds more than one of either tag."""
    answer = response.output_text or ""
    if "<think>" in answer or "</think>" in answer:
        return True
    reasoning = "".join(
        str(getattr(part, "text", "") or "")
        for item in response.output or []
        if getattr(item, "type", None) == "reasoning"
        for part in getattr(item, "summary", None) or []
    )
    return reasoning.count("<think>") > 1 or reasoning.count("</think>") > 1
