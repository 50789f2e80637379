"""OpenAI Responses objects as they travel between gymhall, NeMo Gym and trainers.

The item models are the OpenAI SDK's own. Two things are adapted, as NeMo Gym does: an episode's
`Response.output` holds `function_call_output` items (tool results) beside the model's items, and
items are chosen by their `type` tag (fast, and one clear error per item) instead of trying every
model of a large union. An item type the SDK does not know is kept as a permissive `UnknownItem`,
so rows from newer producers still validate and echo unchanged.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from openai.types.responses import Response as _SDKResponse
from openai.types.responses.easy_input_message import EasyInputMessage
from openai.types.responses.response_function_tool_call import ResponseFunctionToolCall
from openai.types.responses.response_input_item import FunctionCallOutput
from openai.types.responses.response_input_item import Message as InputMessage
from openai.types.responses.response_output_item import ResponseOutputItem as _SDKOutputItem
from openai.types.responses.response_output_message import ResponseOutputMessage
from openai.types.responses.response_reasoning_item import ResponseReasoningItem
from openai.types.responses.tool import Tool
from pydantic import BaseModel, ConfigDict, Discriminator, Tag

__all__ = [
    "InputItem",
    "OutputItem",
    "Response",
    "ResponseCreateParams",
    "ResponseUsage",
    "UnknownItem",
    "add_usage",
    "build_validators",
    "complete_usage",
    "with_complete_usage",
]


class UnknownItem(BaseModel):
    """An item whose `type` the OpenAI SDK in use does not know; every field is kept."""

    model_config = ConfigDict(extra="allow")

    type: str


def _models_by_type(union: Any) -> dict[str, type[BaseModel]]:
    members = typing.get_args(typing.get_args(union)[0]) if typing.get_origin(union) is Annotated else ()
    by_type: dict[str, type[BaseModel]] = {}
    for model in members:
        field = model.model_fields.get("type")
        if field is not None:
            for tag in typing.get_args(field.annotation):
                if isinstance(tag, str):
                    by_type.setdefault(tag, model)
    return by_type


_OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    **_models_by_type(_SDKOutputItem),
    "message": ResponseOutputMessage,
    "function_call": ResponseFunctionToolCall,
    # Tool results inside an episode's output, as NeMo Gym's agent writes them (no id required).
    "function_call_output": FunctionCallOutput,
    "reasoning": ResponseReasoningItem,
}

_INPUT_MODELS: dict[str, type[BaseModel]] = {
    **_OUTPUT_MODELS,
    "easy_message": EasyInputMessage,
    "input_message": InputMessage,
}


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


def _tagged(models: dict[str, type[BaseModel]], tagger: Any) -> Any:
    choices = tuple(Annotated[model, Tag(tag)] for tag, model in models.items())
    choices += (Annotated[UnknownItem, Tag("unknown")],)
    return Annotated[typing.Union[choices], Discriminator(tagger)]  # noqa: UP007


_TOOL_MODELS: dict[str, type[BaseModel]] = _models_by_type(Tool)


def _tool_tag(tool: Any) -> str:
    tag = _tag_of(tool)
    return tag if tag in _TOOL_MODELS else "unknown"


if TYPE_CHECKING:
    OutputItem: TypeAlias = BaseModel
    InputItem: TypeAlias = BaseModel
    ToolItem: TypeAlias = BaseModel
else:
    ToolItem = _tagged(_TOOL_MODELS, _tool_tag)
    """A tool declaration, chosen by its `type` (function, web_search, mcp, ...)."""

    OutputItem = _tagged(_OUTPUT_MODELS, _output_tag)
    """One item of a response's output: a message, function call, tool result, reasoning, ..."""

    InputItem = _tagged(_INPUT_MODELS, _input_tag)
    """One item of a request's input: any output item, or a user/system/developer message."""


class ResponseUsage(BaseModel):
    """Token usage as it is read: details are optional and their counts may be null, since producers fill
    different subsets (vLLM omits them, NeMo Gym 0.7 sends null). What gymhall sends is `complete_usage`'s."""

    model_config = ConfigDict(extra="allow")

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: dict[str, Any] | None = None
    output_tokens_details: dict[str, Any] | None = None


_DETAILS = (
    ("input_tokens_details", ("cached_tokens", "cache_write_tokens")),
    ("output_tokens_details", ("reasoning_tokens",)),
)
"""The details objects of a usage and the counts the OpenAI SDK's `ResponseUsage` requires in each."""


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def complete_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """`usage` as the OpenAI SDK's `ResponseUsage` requires it: every count and details object present.

    A missing or null count is 0 (NeMo Gym 0.4 and the SDK refuse null); other detail keys are kept.
    """
    full = dict(usage)
    input_tokens, output_tokens = _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
    full.update(input_tokens=input_tokens, output_tokens=output_tokens)
    full["total_tokens"] = _count(usage.get("total_tokens")) or input_tokens + output_tokens
    for key, counts in _DETAILS:
        details = usage.get(key)
        details = dict(details) if isinstance(details, Mapping) else {}
        full[key] = details | {count: _count(details.get(count)) for count in counts}
    return full


def add_usage(total: Mapping[str, Any] | None, usage: Any) -> dict[str, Any] | None:
    """The sum of two usages, complete (`complete_usage`); `usage` that is not an object adds nothing."""
    if not isinstance(usage, Mapping):
        return None if total is None else complete_usage(total)
    if total is None:
        return complete_usage(usage)
    summed, added = complete_usage(total), complete_usage(usage)
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        summed[key] += added[key]
    for key, _ in _DETAILS:
        details = summed[key]
        for count, value in added[key].items():
            if isinstance(value, int) and not isinstance(value, bool):
                details[count] = _count(details.get(count)) + value
    return summed


class Response(_SDKResponse):
    """An OpenAI Responses object whose output may hold the tool results of a whole episode."""

    output: list[OutputItem]  # type: ignore[assignment]
    # The SDK's own `tools` union has no pydantic discriminator, so pydantic tried all 16 tool models on
    # every tool (40 µs for one function tool); chosen by `type` it is 4 µs, and unknown types are kept.
    tools: list[ToolItem]  # type: ignore[assignment]
    usage: ResponseUsage | None = None  # type: ignore[assignment]


def with_complete_usage(response: Response) -> Response:
    """`response` with its usage completed (`complete_usage`), as gymhall sends a Response to others."""
    if response.usage is None:
        return response
    usage = response.usage.model_dump(mode="json", exclude_unset=True)
    full = complete_usage(usage)
    if full == usage:
        return response
    return response.model_copy(update={"usage": ResponseUsage.model_validate(full)})


class ResponseCreateParams(BaseModel):
    """Parameters of a Responses API request, as a dataset row's `responses_create_params` holds them.

    Unknown keys are kept (and echoed) rather than refused: rows from newer producers still work.
    """

    model_config = ConfigDict(extra="allow")

    input: str | list[InputItem]
    tools: list[ToolItem] | None = None
    model: str | None = None
    instructions: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    parallel_tool_calls: bool | None = None
    tool_choice: Any = None
    metadata: dict[str, str] | None = None
    stream: Literal[False] | None = None
    reasoning: Any = None
    text: Any = None


@functools.cache
def build_validators() -> None:
    """Build the `Response` validator now rather than on first use (the SDK defers it; about 40 ms).

    Servers and agents call it while starting, so the first rollout is not the one that pays.
    """
    Response.model_validate(
        {"id": "warm-up", "created_at": 0, "model": "m", "object": "response", "output": [], "tools": []}
        | {"parallel_tool_calls": False, "tool_choice": "auto"}
    )
