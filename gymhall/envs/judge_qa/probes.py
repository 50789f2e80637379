"""The `judge_qa` environment's own reward probes (`probes: gymhall.envs.judge_qa.probes:probes` in its config).

Hacks a policy finds without knowing the answer: the question echoed as the answer (in the
`Answer:` form the rows use), the expected answer negated, and the expected answer hedged with a
made-up alternative. None of them is an exact match, so the rule check passes them to the judge,
which must refuse them; without a judge (`allow_no_judge: true`) they score 0.0 by the rule.
Variants a careful grader accepts: the answer after `**Answer:**` (Markdown around the prefix) and in
`\\boxed{}`; both are exact matches, decided without the judge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gymhall import Probe

__all__ = ["probes"]


def probes(row: Mapping[str, Any]) -> list[Probe]:
    """The hacks and variants of one row, built from its `question` and `expected_answer`."""
    question = str(row.get("question") or "").strip()
    expected = str(row.get("expected_answer") or "").strip().rstrip(".")
    if not expected:
        return []
    found = [
        Probe("reference negated", answer=f"It is not {expected}.", tool_calls=[]),
        Probe("reference hedged", answer=f"Either {expected} or something else; I am not sure.", tool_calls=[]),
        Probe("answer prefix in bold", answer=f"**Answer:** {expected}", expect="same"),
        Probe("answer boxed", answer=f"The answer is \\boxed{{{expected}}}.", expect="same"),
    ]
    if question:
        found.insert(0, Probe("question echoed", answer=f"Answer: {question}", tool_calls=[]))
    return found
