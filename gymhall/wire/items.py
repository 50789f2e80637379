"""The items of OpenAI Responses objects, as gymhall validates them.

gymhall's own pydantic models, written to the OpenAI SDK's (`openai.types.responses`) field for field
for the items every producer of RL episodes sends: messages, function calls, tool results, reasoning,
their content parts and function tools. They accept what the SDK accepts for those items (the same
required fields and literal values, extra fields kept as the SDK keeps them), and dump the same JSON;
`tests/wire/test_items.py` checks both against the SDK. Importing the SDK's types costs about 0.6 s
and 20 MB (its `__init__` loads every type it has), which every server and collector paid at start-up.

Any other item type (web search calls, computer calls, MCP listings, types newer than this module) is
an `UnknownItem`: its `type` is checked, every field is kept and echoed unchanged.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Discriminator, Tag

__all__ = [
    "ContentPart",
    "EasyInputMessage",
    "FunctionCallOutput",
    "FunctionTool",
    "InputItem",
    "InputMessage",
    "InputText",
    "OutputItem",
    "OutputMessage",
    "OutputRefusal",
    "OutputText",
    "ReasoningItem",
    "FunctionCall",
    "ToolItem",
    "UnknownItem",
]

Status: TypeAlias = Literal["in_progress", "completed", "incomplete"]
Phase: TypeAlias = Literal["commentary", "final_answer"]


class _Item(BaseModel):
    # As the SDK's models: unknown fields are kept (and dumped), never refused.
    model_config = ConfigDict(extra="allow")


class UnknownItem(_Item):
    """An item or part whose `type` gymhall does not model; every field is kept."""

    type: str


class OutputText(_Item):
    annotations: list[dict[str, Any]]
    text: str
    type: Literal["output_text"]
    logprobs: list[dict[str, Any]] | None = None


class OutputRefusal(_Item):
    refusal: str
    type: Literal["refusal"]


class InputText(_Item):
    text: str
    type: Literal["input_text"]


class _SummaryText(_Item):
    text: str
    type: Literal["summary_text"]


class _ReasoningText(_Item):
    text: str
    type: Literal["reasoning_text"]


def _part_tag(part: Any) -> str:
    tag = part.get("type") if isinstance(part, dict) else getattr(part, "type", None)
    return tag if tag in _PARTS else "unknown"


_PARTS: dict[str, type[BaseModel]] = {"output_text": OutputText, "refusal": OutputRefusal, "input_text": InputText}

if TYPE_CHECKING:
    ContentPart: TypeAlias = OutputText | OutputRefusal | InputText | UnknownItem
else:
    ContentPart = Annotated[
        typing.Union[tuple(Annotated[m, Tag(t)] for t, m in (*_PARTS.items(), ("unknown", UnknownItem)))],  # noqa: UP007
        Discriminator(_part_tag),
    ]
    """A part of a message's content: output text, a refusal, input text, or any other part kept whole."""


class OutputMessage(_Item):
    """An assistant message the model produced (`ResponseOutputMessage`)."""

    id: str
    content: list[ContentPart]
    role: Literal["assistant"]
    status: Status
    type: Literal["message"]
    phase: Phase | None = None


class FunctionCall(_Item):
    """A call of a function tool (`ResponseFunctionToolCall`); `arguments` is the JSON text."""

    arguments: str
    call_id: str
    name: str
    type: Literal["function_call"]
    id: str | None = None
    namespace: str | None = None
    status: Status | None = None


class FunctionCallOutput(_Item):
    """A tool's result; in an episode's output as NeMo Gym's agent writes it (no id required)."""

    output: str | list[ContentPart]
    type: Literal["function_call_output"]
    id: str | None = None
    call_id: str | None = None
    name: str | None = None
    namespace: str | None = None
    status: Status | None = None


class ReasoningItem(_Item):
    """The model's reasoning (`ResponseReasoningItem`): its summary, and its text where the server shares it."""

    id: str
    summary: list[_SummaryText]
    type: Literal["reasoning"]
    content: list[_ReasoningText] | None = None
    encrypted_content: str | None = None
    status: Status | None = None


class EasyInputMessage(_Item):
    """A message of a request's input whose content may be plain text (`EasyInputMessage`)."""

    content: str | list[ContentPart]
    role: Literal["user", "assistant", "system", "developer"]
    phase: Phase | None = None
    type: Literal["message"] | None = None


class InputMessage(_Item):
    """A user, system or developer message of content parts (the SDK's input `Message`)."""

    content: list[ContentPart]
    role: Literal["user", "system", "developer"]
    status: Status | None = None
    type: Literal["message"] | None = None


class FunctionTool(_Item):
    """A function tool declaration (`FunctionTool`)."""

    name: str
    type: Literal["function"]
    parameters: dict[str, object] | None = None
    strict: bool | None = None
    description: str | None = None


_OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    "message": OutputMessage,
    "function_call": FunctionCall,
    "function_call_output": FunctionCallOutput,
    "reasoning": ReasoningItem,
}

_INPUT_MODELS: dict[str, type[BaseModel]] = {
    **_OUTPUT_MODELS,
    "easy_message": EasyInputMessage,
    "input_message": InputMessage,
}

_TOOL_MODELS: dict[str, type[BaseModel]] = {"function": FunctionTool}


def _tag_of(item: Any) -> str:
    return str(item.get("type") if isinstance(item, dict) else getattr(item, "type", None))


def _output_tag(item: Any) -> str:
    tag = _tag_of(item)
    return tag if tag in _OUTPUT_MODELS else "unknown"


def _input_tag(item: Any) -> str:
    if isinstance(item, dict):
        tag = item.get("type") or "message"
        if tag == "message":
            if item.get("role") == "assistant" and "id" in item and "status" in item:
                return "message"
            content = item.get("content")
            if isinstance(content, str) or item.get("role") == "assistant":
                return "easy_message"
            return "input_message"
        return tag if tag in _INPUT_MODELS else "unknown"
    if isinstance(item, BaseModel):
        for tag, model in _INPUT_MODELS.items():
            if type(item) is model:
                return tag
    return "unknown"


def _tool_tag(tool: Any) -> str:
    tag = _tag_of(tool)
    return tag if tag in _TOOL_MODELS else "unknown"


def _tagged(models: dict[str, type[BaseModel]], tagger: Any) -> Any:
    choices = tuple(Annotated[model, Tag(tag)] for tag, model in models.items())
    choices += (Annotated[UnknownItem, Tag("unknown")],)
    return Annotated[typing.Union[choices], Discriminator(tagger)]  # noqa: UP007


if TYPE_CHECKING:
    # Typed as the common base for callers: items are read by their `type` tag, whatever their model.
    OutputItem: TypeAlias = BaseModel
    InputItem: TypeAlias = BaseModel
    ToolItem: TypeAlias = BaseModel
else:
    ToolItem = _tagged(_TOOL_MODELS, _tool_tag)
    """A tool declaration, chosen by its `type` (function, or any other kept whole)."""

    OutputItem = _tagged(_OUTPUT_MODELS, _output_tag)
    """One item of a response's output: a message, function call, tool result, reasoning, ..."""

    InputItem = _tagged(_INPUT_MODELS, _input_tag)
    """One item of a request's input: any output item, or a user/system/developer message."""
