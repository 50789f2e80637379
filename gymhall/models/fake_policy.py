"""What a fake model answers: the request a policy reads, the turns and failures it returns, stock policies.

    def policy(request: FakeRequest) -> Turn | Failure | str:
        return Turn(tool_calls=[ToolCall("increment", {"by": 1})]) if request.turn_index == 0 else "1"

A policy is a function `(FakeRequest) -> Turn | Failure | str` (or a coroutine of one). It reads the
conversation from the request, never from shared state, so one policy answers any number of
concurrent conversations. `FakeOpenAI` (gymhall.models.fake_openai) serves a policy over HTTP;
`FakeModel` (gymhall.models.fake) answers with one in process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import orjson

__all__ = [
    "Dialect",
    "Failure",
    "FakeRequest",
    "Policy",
    "ToolCall",
    "Turn",
    "counter_policy",
    "echo_policy",
    "scripted",
]

Dialect: TypeAlias = Literal["responses", "chat"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call the fake model makes; `call_id` is generated when not given."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One model answer: text and/or tool calls, optional reasoning.

    `finish_reason` is the chat one (`stop`, `tool_calls`, `length`, `content_filter`); by default it
    follows from the content. `incomplete=True` (or `finish_reason="length"`/`"content_filter"`) makes
    a Responses answer `status: "incomplete"` with `incomplete_details`.
    """

    text: str | None = None
    tool_calls: Sequence[ToolCall] = ()
    reasoning: str | None = None
    finish_reason: str | None = None
    incomplete: bool = False


@dataclass(frozen=True, slots=True)
class Failure:
    """An error answer in OpenAI's shape; `retry_after` (seconds) defaults to the server's setting."""

    status: int = 500
    message: str = "injected failure"
    retry_after: float | None = None


class FakeRequest:
    """One request as the policy sees it: the parsed body, its dialect and the conversation so far."""

    __slots__ = ("_turn_index", "body", "dialect", "headers")

    def __init__(self, body: dict[str, Any], dialect: Dialect, headers: Mapping[str, str] | None = None) -> None:
        self.body = body
        self.dialect = dialect
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self._turn_index: int | None = None

    @property
    def items(self) -> list[dict[str, Any]]:
        """The conversation: Responses input items (a string input is one user message) or chat messages."""
        if self.dialect == "chat":
            messages = self.body.get("messages")
            return messages if isinstance(messages, list) else []
        value = self.body.get("input")
        if isinstance(value, str):
            return [{"role": "user", "content": value}]
        return value if isinstance(value, list) else []

    @property
    def turn_index(self) -> int:
        """How many model calls this conversation has had before this one (0 for its first call)."""
        if self._turn_index is None:
            self._turn_index = _count_turns(self.items, self.dialect)
        return self._turn_index

    @property
    def model(self) -> str | None:
        """The `model` the request names."""
        value = self.body.get("model")
        return value if isinstance(value, str) else None

    def tool_outputs(self) -> list[str]:
        """The text of every tool result in the conversation, in order."""
        if self.dialect == "chat":
            return [_text(m.get("content")) for m in self.items if isinstance(m, dict) and m.get("role") == "tool"]
        return [
            _text(item.get("output"))
            for item in self.items
            if isinstance(item, dict) and str(item.get("type", "")).endswith("_call_output")
        ]

    def last_tool_output(self) -> str | None:
        """The text of the latest tool result, or None when there is none."""
        outputs = self.tool_outputs()
        return outputs[-1] if outputs else None

    def user_text(self) -> str:
        """The text of the latest user message ('' when there is none)."""
        for item in reversed(self.items):
            if isinstance(item, dict) and item.get("role") == "user":
                return _text(item.get("content"))
        return ""

    def tool_names(self) -> list[str]:
        """The names of the function tools offered to the model."""
        names = []
        for spec in self.body.get("tools") or ():
            if isinstance(spec, dict):
                name = spec.get("name") or (spec.get("function") or {}).get("name")
                if isinstance(name, str):
                    names.append(name)
        return names

    def __repr__(self) -> str:
        return f"FakeRequest(dialect={self.dialect!r}, turn_index={self.turn_index}, items={len(self.items)})"


def _text(content: Any) -> str:
    """The text of message content: a string, or a list of parts with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _is_model_side(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    kind = item.get("type")
    if kind is None or kind == "message":
        return item.get("role") == "assistant"
    return kind == "reasoning" or (isinstance(kind, str) and kind.endswith("_call"))


def _count_turns(items: list[dict[str, Any]], dialect: Dialect) -> int:
    if dialect == "chat":
        return sum(1 for m in items if isinstance(m, dict) and m.get("role") == "assistant")
    # One model call leaves a run of model-side items (reasoning, message, calls); tool results end it.
    turns, inside = 0, False
    for item in items:
        model_side = _is_model_side(item)
        if model_side and not inside:
            turns += 1
        inside = model_side
    return turns


Policy: TypeAlias = Callable[[FakeRequest], Turn | Failure | str | Awaitable[Turn | Failure | str]]
"""Chooses the fake model's answer to one request (a plain string is a text turn)."""


def scripted(turns: Sequence[Turn | str]) -> Policy:
    """Answer the k-th model call of each conversation with `turns[k]` (k counted from the input).

    A conversation that goes past the script gets a 400 error naming the script's length.
    """
    script = [turn if isinstance(turn, Turn) else Turn(text=turn) for turn in turns]

    def policy(request: FakeRequest) -> Turn | Failure:
        index = request.turn_index
        if index < len(script):
            return script[index]
        return Failure(400, f"The scripted policy has {len(script)} turns; this is model call {index + 1}.")

    return policy


def counter_policy(tool: str = "increment", calls: int = 1) -> Policy:
    """Call `tool` with `{"by": 1}` `calls` times, then answer the count from the last tool output.

    The count is the `count` or `value` field of the output's JSON (or the output itself when it is
    a number or not JSON); with no tool output the answer is "0".
    """
    call_turn = Turn(tool_calls=[ToolCall(tool, {"by": 1})])

    def policy(request: FakeRequest) -> Turn:
        if request.turn_index < calls:
            return call_turn
        return Turn(text=_count_text(request.last_tool_output()))

    return policy


def _count_text(output: str | None) -> str:
    if output is None:
        return "0"
    try:
        value = orjson.loads(output)
    except orjson.JSONDecodeError:
        return output.strip()
    if isinstance(value, dict):
        value = value.get("count", value.get("value"))
    return str(value)


def echo_policy(request: FakeRequest) -> Turn:
    """Answer with the text of the latest user message."""
    return Turn(text=request.user_text())
