"""Multiple-choice questions without tools, graded as NeMo Gym's mcqa resources server grades them.

Rows have NeMo Gym's mcqa shape (`options`, `expected_answer`, `grading_mode`, optional
`template_metadata.output_regex`, `uuid`, `metadata`), and get the rewards NeMo Gym gives them.
Verify reads nothing but the request, so it needs no session (stateless reverify works).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from gymhall import BaseResourcesServerConfig, BaseVerifyRequest, Environment
from gymhall.envs.mcqa.grading import GradingMode, grade

__all__ = ["MCQA", "MCQAConfig", "MCQAVerifyRequest"]

# Answers longer than this, or graded with a row's own regex (which may backtrack badly), are
# graded in a worker thread so that the event loop keeps serving other rollouts.
_INLINE_TEXT_LIMIT = 20_000


class MCQAConfig(BaseResourcesServerConfig):
    """Settings of the mcqa environment."""

    # NeMo Gym's setting: when set, it overrides every row's own grading_mode.
    grading_mode: GradingMode | None = None
    # The mode of rows that name none (NeMo Gym's row default).
    default_grading_mode: GradingMode = "strict_single_letter_boxed"


class MCQAVerifyRequest(BaseVerifyRequest):
    """A row's task fields, as NeMo Gym's mcqa rows carry them."""

    uuid: str | None = None
    options: list[dict[str, str | None]] | None = None  # [{"A": "text"}, {"B": "text"}, ...]
    expected_answer: str | None = None  # the right letter
    metadata: dict[str, Any] | None = None  # free-form; never read by grading
    grading_mode: GradingMode | None = None
    template_metadata: dict[str, Any] | None = None  # its `output_regex` (one or a list) is tried first


def _output_regex(template_metadata: dict[str, Any] | None) -> list[str]:
    """The row's own answer regexes; anything that is not a string is ignored."""
    patterns = (template_metadata or {}).get("output_regex")
    if isinstance(patterns, str):
        return [patterns]
    if isinstance(patterns, list):
        return [pattern for pattern in patterns if isinstance(pattern, str)]
    return []


class MCQA(Environment):
    """Answer a multiple-choice question; reward 1.0 when the letter read from the answer is the right one."""

    config_class = MCQAConfig
    domain = "knowledge"
    config: MCQAConfig

    async def verify(self, state: None, body: MCQAVerifyRequest) -> dict[str, Any]:
        """Read the chosen letter from the final text (see `grading`) and compare it with `expected_answer`."""
        mode = self.config.grading_mode or body.grading_mode or self.config.default_grading_mode
        text = body.response.output_text
        patterns = _output_regex(body.template_metadata)
        grading = functools.partial(
            grade, text, expected_answer=body.expected_answer, options=body.options, mode=mode, output_regex=patterns
        )
        result = await asyncio.to_thread(grading) if patterns or len(text) > _INLINE_TEXT_LIMIT else grading()
        return {
            "reward": result.reward,
            "expected_answer": result.expected_answer,
            "extracted_answer": result.extracted_answer,
        }
