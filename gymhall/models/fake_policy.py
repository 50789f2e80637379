"""What a fake model answers: the request a policy reads, the turns and failures it returns, stock policies.

    def policy(request: FakeRequest) -> Turn | Failure | str:
        return Turn(tool_calls=[ToolCall("increment", {"by": 1})]) if request.turn_index == 0 else "1"

A policy is a function `(FakeRequest) -> Turn | Failure | str` (or a coroutine of one). It reads the
conversation from the request, never from shared state, so one policy answers any number of
concurrent conversations. `FakeOpenAI` (gymhall.models.fake_openai) serves a policy over HTTP;
`FakeModel` (gymhall.models.fake) answers with one in process.

`ChatTemplate` renders a conversation and an answer to text the way a chat model's template does, so that
a fake given a tokenizer can answer the token ids a vLLM server would (`FakeOpenAI(token_ids=...)`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import orjson

__all__ = [
    "ChatTemplate",
    "Dialect",
    "Failure",
    "FakeRequest",
    "Policy",
    "ToolCall",
    "Turn",
    "FAIL_HEADER",
    "counter_policy",
    "echo_policy",
    "play",
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

    __slots__ = ("_turn_index", "body", "dialect", "generation_token_ids", "headers", "prompt_token_ids")

    def __init__(self, body: dict[str, Any], dialect: Dialect, headers: Mapping[str, str] | None = None) -> None:
        self.body = body
        self.dialect = dialect
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self._turn_index: int | None = None
        # What the model saw and generated, when the fake computes token ids (`FakeOpenAI(token_ids=...)`).
        self.prompt_token_ids: list[int] | None = None
        self.generation_token_ids: list[int] | None = None

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

FAIL_HEADER = "x-fake-fail"
"""A request with this header gets that status from a fake server (any other value: 500)."""


async def play(policy: Policy, fake: FakeRequest, headers: Mapping[str, str]) -> Turn | Failure:
    """What a fake server answers `fake` with: the failure its `FAIL_HEADER` asks for, else the policy's turn.

    A policy that raises is a test bug: it becomes a 500 saying so, which the test then sees in the answer.
    """
    forced = headers.get(FAIL_HEADER)
    if forced is not None:
        return Failure(int(forced) if forced.isdigit() else 500, f"failure requested by the {FAIL_HEADER} header")
    try:
        result = policy(fake)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        return Failure(500, f"The fake's policy raised {type(exc).__name__}: {exc}")
    return Turn(text=result) if isinstance(result, str) else result


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


@dataclass(frozen=True, slots=True)
class ChatTemplate:
    """A ChatML-style chat template: how the fake turns a conversation and an answer into text to tokenize.

    Each message renders as ``<|im_start|>{role}\\n{content}<|im_end|>``, messages joined by a newline;
    a prompt ends with ``<|im_start|>assistant\\n`` and an answer with ``<|im_end|>``, so that an answer,
    once it is in the history, renders as the same text it was generated as. An assistant message's
    content is ``<think>{reasoning}</think>``, then its text, then ``<tool_call>{name} {arguments}</tool_call>``
    per call. With a tokenizer that knows ``<|im_start|>`` and ``<|im_end|>`` as special tokens, each
    prompt's tokens then extend the previous prompt's plus its answer's: the property trainers check.

    `keep_reasoning=False` drops the reasoning of earlier turns from the history, as Qwen3's template
    does; that breaks the property on purpose (the tokens a trainer joins would differ from those the
    model saw), so tests can show the drift is detected.
    """

    keep_reasoning: bool = True

    def prompt(self, request: FakeRequest) -> str:
        """The text of the model's prompt for `request`: its instructions and conversation, then the answer's start."""
        messages = _chat_messages(request, self)
        if isinstance(request.body.get("instructions"), str):
            messages.insert(0, ("system", request.body["instructions"]))
        parts = [f"<|im_start|>{role}\n{content}<|im_end|>" for role, content in messages]
        return "\n".join([*parts, "<|im_start|>assistant\n"])

    def generation(self, turn: Turn) -> str:
        """The text the model generates for `turn`, up to and including its end-of-turn marker."""
        calls = [(call.name, _arguments_text(call.arguments)) for call in turn.tool_calls]
        return _assistant_content(turn.reasoning, turn.text or "", calls) + "<|im_end|>"

    def _history_reasoning(self, reasoning: str | None) -> str | None:
        return reasoning if self.keep_reasoning else None

    def _assistant(self, reasoning: str | None, text: str, calls: list[tuple[str, str]]) -> tuple[str, str]:
        return "assistant", _assistant_content(self._history_reasoning(reasoning), text, calls)


def _arguments_text(arguments: Mapping[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else orjson.dumps(dict(arguments)).decode()


def _assistant_content(reasoning: str | None, text: str, calls: Sequence[tuple[str, str]]) -> str:
    think = "" if reasoning is None else f"<think>{reasoning}</think>"
    return think + text + "".join(f"<tool_call>{name} {arguments}</tool_call>" for name, arguments in calls)


def _reasoning_text(item: Mapping[str, Any]) -> str:
    parts = item.get("content") or item.get("summary") or []
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))


def _chat_messages(request: FakeRequest, template: ChatTemplate) -> list[tuple[str, str]]:
    """The conversation as (role, content) pairs; the model-side items of one call become one assistant message."""
    messages: list[tuple[str, str]] = []
    if request.dialect == "chat":
        for m in request.items:
            if not isinstance(m, dict):
                continue
            if m.get("role") == "assistant":
                chat_calls = [(c["function"]["name"], c["function"]["arguments"]) for c in m.get("tool_calls") or ()]
                thought = m.get("reasoning_content") or m.get("reasoning")
                messages.append(template._assistant(thought, _text(m.get("content")), chat_calls))
            else:
                messages.append((str(m.get("role")), _text(m.get("content"))))
        return messages
    reasoning: str | None = None
    text = ""
    calls: list[tuple[str, str]] = []
    inside = False
    for item in request.items:
        if not isinstance(item, dict):
            continue
        if _is_model_side(item):
            inside = True
            if item.get("type") == "reasoning":
                reasoning = _reasoning_text(item)
            elif item.get("type") == "function_call":
                calls.append((str(item.get("name")), str(item.get("arguments"))))
            else:
                text += _text(item.get("content"))
            continue
        if inside:
            messages.append(template._assistant(reasoning, text, calls))
            reasoning, text, calls, inside = None, "", [], False
        if str(item.get("type", "")).endswith("_call_output"):
            messages.append(("tool", _text(item.get("output"))))
        else:
            messages.append((str(item.get("role")), _text(item.get("content"))))
    if inside:
        messages.append(template._assistant(reasoning, text, calls))
    return messages
