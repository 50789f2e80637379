"""The registry: every instruction this environment can check, by id, and building one from a row's kwargs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from gymhall.envs.instruction_following.instructions import case, content, formats, keywords, length, punctuation
from gymhall.envs.instruction_following.instructions import start_end as ends
from gymhall.envs.instruction_following.instructions.base import Instruction, InstructionError

__all__ = ["INSTRUCTIONS", "build_instruction"]

# In IFEval's order of families; a new checker is added here as well as defined in its family's module.
_CHECKERS: tuple[type[Instruction], ...] = (
    keywords.KeywordsExist,
    keywords.KeywordFrequency,
    keywords.ForbiddenWords,
    keywords.LetterFrequency,
    keywords.StartEndSameWord,
    length.NumberOfWords,
    length.NumberOfSentences,
    length.NumberOfParagraphs,
    length.NthParagraphFirstWord,
    content.Placeholders,
    content.Postscript,
    formats.BulletPoints,
    formats.ConstrainedResponse,
    formats.HighlightedSections,
    formats.Sections,
    formats.JsonFormat,
    formats.Title,
    content.TwoResponses,
    content.RepeatPrompt,
    ends.EndPhrase,
    ends.Quotation,
    ends.FirstWordOfAnswer,
    ends.FirstWordOfSentences,
    ends.LastWordOfAnswer,
    ends.LastWordOfSentences,
    case.AllCapitals,
    case.AllLowercase,
    case.CapitalWordFrequency,
    case.LowercaseWordCount,
    case.LetterCount,
    punctuation.NoComma,
    punctuation.NoDot,
    punctuation.NoExclamation,
    length.TwoParagraphsDivider,
    length.TwoParagraphsBlankLine,
)

INSTRUCTIONS: dict[str, type[Instruction]] = {cls.instruction_id: cls for cls in _CHECKERS}
"""Every instruction this environment can check, by id."""

if len(INSTRUCTIONS) != len(_CHECKERS):  # two checkers claiming one id: the later would silently win
    raise RuntimeError("two instruction checkers share an instruction_id; each id must name exactly one checker")


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
