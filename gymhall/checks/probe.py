"""A reward probe: an answer made from a row that a sound verify must grade a known way.

A hack (`expect="below"`) must score below the row's reference solution: the question echoed back,
an empty answer, a refusal, every option listed. A variant (`expect="same"`) must score what the
reference scores: the reference answer in bold, with extra whitespace, with a trailing sentence.

An environment adds probes of its own with a function `(row) -> Iterable[Probe]`, named in its
resources server's config as `probes: package.module:function` (or with `gymhall check --probes`).
A probe of the same name as a generic one replaces it: an environment whose rules forbid bold
answers returns `Probe("reference in bold", answer=..., expect="below")`, and one that has no
opinion returns it with `expect="ignored"`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

__all__ = ["Expectation", "Probe", "ProbeFunction"]

Expectation: TypeAlias = Literal["below", "same", "ignored"]


@dataclass(frozen=True)
class Probe:
    """One probe of one row: a name, the answer and tool calls to play, and what its reward must be.

    `answer=None` keeps the reference solution's answer and `tool_calls=None` its tool calls, so a
    probe changes only what it is about. Tool calls are `{"name": ..., "arguments": {...}}`, as in
    a row's `reference_solution`.
    """

    name: str
    answer: str | None = None
    tool_calls: Sequence[Mapping[str, Any]] | None = None
    expect: Expectation = "below"

    def solution(self, reference: Mapping[str, Any]) -> dict[str, Any]:
        """The solution to play: `reference` with this probe's answer and tool calls put in."""
        played = dict(reference)
        if self.answer is not None:
            played["answer"] = self.answer
        if self.tool_calls is not None:
            played["tool_calls"] = [dict(call) for call in self.tool_calls]
        return played


ProbeFunction: TypeAlias = Callable[[Mapping[str, Any]], Iterable[Probe]]
"""An environment's own probes of a row (`probes: module:function` in its config)."""
