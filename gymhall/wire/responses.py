"""OpenAI Responses objects as they travel between gymhall, NeMo Gym and trainers.

Written to the OpenAI SDK's `Response` field for field (`tests/wire/test_items.py` checks it against
the SDK), with two adaptations, as NeMo Gym makes them: an episode's `Response.output` holds
`function_call_output` items (tool results) beside the model's items, and items are chosen by their
`type` tag (fast, and one clear error per item) instead of trying every model of a large union. An
item type gymhall does not model is kept as a permissive `UnknownItem`, so rows from newer producers
still validate and echo unchanged. The item models are in `gymhall.wire.items`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from gymhall.wire.items import InputItem, OutputItem, ToolItem, UnknownItem

__all__ = [
    "InputItem",
    "OutputItem",
    "Response",
    "ResponseCreateParams",
    "ResponseUsage",
    "UnknownItem",
    "add_usage",
    "complete_usage",
    "with_complete_usage",
]


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


class IncompleteDetails(BaseModel):
    """Why a response stopped short."""

    model_config = ConfigDict(extra="allow")

    reason: Literal["max_output_tokens", "content_filter"] | None = None


class Response(BaseModel):
    """An OpenAI Responses object whose output may hold the tool results of a whole episode."""

    model_config = ConfigDict(extra="allow")

    id: str
    created_at: float
    model: str
    object: Literal["response"]
    output: list[OutputItem]
    parallel_tool_calls: bool
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any]
    tools: list[ToolItem]
    error: dict[str, Any] | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | list[InputItem] | None = None
    metadata: dict[str, str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    background: bool | None = None
    completed_at: float | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    previous_response_id: str | None = None
    reasoning: dict[str, Any] | None = None
    status: Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"] | None = None
    text: dict[str, Any] | None = None
    top_logprobs: int | None = None
    truncation: Literal["auto", "disabled"] | None = None
    usage: ResponseUsage | None = None
    user: str | None = None

    @property
    def output_text(self) -> str:
        """The text of every `output_text` part of the output's messages, joined; "" when there is none."""
        return "".join(
            getattr(part, "text", "")
            for item in self.output
            if getattr(item, "type", None) == "message"
            for part in getattr(item, "content", ())
            if getattr(part, "type", None) == "output_text"
        )


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
