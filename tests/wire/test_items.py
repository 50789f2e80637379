"""gymhall's own Responses models against the OpenAI SDK's: the same payloads accepted and refused, the same JSON."""

from __future__ import annotations

import copy
from typing import Annotated, Any, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.responses import Response as _SDKResponse
from openai.types.responses.response_function_tool_call import ResponseFunctionToolCall
from openai.types.responses.response_input_item import FunctionCallOutput as SDKFunctionCallOutput
from openai.types.responses.response_output_message import ResponseOutputMessage
from openai.types.responses.response_reasoning_item import ResponseReasoningItem
from pydantic import Discriminator, Tag, ValidationError

from gymhall import Response
from gymhall.wire.items import FunctionCall, FunctionCallOutput, OutputMessage, ReasoningItem, UnknownItem
from gymhall.wire.responses import complete_usage

_SDK_ITEMS = {
    "message": ResponseOutputMessage,
    "function_call": ResponseFunctionToolCall,
    "function_call_output": SDKFunctionCallOutput,
    "reasoning": ResponseReasoningItem,
}


def _sdk_tag(item: Any) -> str:
    tag = item.get("type") if isinstance(item, dict) else item.type
    return tag if tag in _SDK_ITEMS else "other"


class SDKResponse(_SDKResponse):
    """The SDK's Response with NeMo Gym's episode output (tool results beside the model's items), built from the SDK's
    own item models: the reference gymhall's models are held to."""

    output: list[  # type: ignore[assignment]
        Annotated[
            Union[  # noqa: UP007
                tuple(Annotated[m, Tag(t)] for t, m in _SDK_ITEMS.items()) + (Annotated[dict[str, Any], Tag("other")],)
            ],
            Discriminator(_sdk_tag),
        ]
    ]


_BASE: dict[str, Any] = {
    "id": "resp_1",
    "created_at": 1700000000,
    "model": "m",
    "object": "response",
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}],
}

_ITEMS: list[dict[str, Any]] = [
    {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [
            {"type": "output_text", "text": "hi", "annotations": [], "logprobs": []},
            {"type": "refusal", "refusal": "no"},
        ],
        "phase": "final_answer",
    },
    {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}", "id": "fc_1", "status": "completed"},
    {"type": "function_call_output", "call_id": "c1", "output": "{}"},
    {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "think"}],
        "content": [{"type": "reasoning_text", "text": "step"}],
        "encrypted_content": "xyz",
    },
]

_REFUSED_BY_BOTH: list[tuple[str, dict[str, Any]]] = [
    ("message without id", {**_ITEMS[0], "id": None}),
    ("message of role user", {**_ITEMS[0], "role": "user"}),
    ("message with a bad status", {**_ITEMS[0], "status": "done"}),
    ("output_text without text", {**_ITEMS[0], "content": [{"type": "output_text", "annotations": []}]}),
    ("output_text without annotations", {**_ITEMS[0], "content": [{"type": "output_text", "text": "x"}]}),
    ("function call without name", {k: v for k, v in _ITEMS[1].items() if k != "name"}),
    ("function call with object arguments", {**_ITEMS[1], "arguments": {"a": 1}}),
    ("function call without call_id", {k: v for k, v in _ITEMS[1].items() if k != "call_id"}),
    ("reasoning without summary", {k: v for k, v in _ITEMS[3].items() if k != "summary"}),
    ("reasoning summary of another type", {**_ITEMS[3], "summary": [{"type": "text", "text": "x"}]}),
]


def _sdk_dump(payload: dict[str, Any]) -> dict[str, Any]:
    return SDKResponse.model_validate(payload).model_dump(mode="json", exclude_unset=True)


def _dump(payload: dict[str, Any]) -> dict[str, Any]:
    return Response.model_validate(payload).model_dump(mode="json", exclude_unset=True)


def test_the_items_validate_to_their_models_and_dump_as_the_sdk_dumps() -> None:
    payload = {**_BASE, "output": copy.deepcopy(_ITEMS), "status": "completed", "usage": None}
    response = Response.model_validate(payload)
    assert [type(item) for item in response.output] == [OutputMessage, FunctionCall, FunctionCallOutput, ReasoningItem]
    assert response.output_text == "hi"
    assert response.output_text == SDKResponse.model_validate(payload).output_text
    assert _dump(payload) == _sdk_dump(payload)


@pytest.mark.parametrize(("what", "item"), _REFUSED_BY_BOTH, ids=[what for what, _ in _REFUSED_BY_BOTH])
def test_what_the_sdk_refuses_is_refused(what: str, item: dict[str, Any]) -> None:
    payload = {**_BASE, "output": [item]}
    with pytest.raises(ValidationError):
        SDKResponse.model_validate(payload)
    with pytest.raises(ValidationError):
        Response.model_validate(payload)


@pytest.mark.parametrize(
    "change",
    [
        {"object": "chat.completion"},
        {"created_at": "yesterday"},
        {"parallel_tool_calls": "sometimes"},
        {"tool_choice": "whenever"},
        {"tools": [{"type": "function"}]},
        {"incomplete_details": {"reason": "bored"}},
        {"status": "finished"},
    ],
)
def test_a_response_field_the_sdk_refuses_is_refused(change: dict[str, Any]) -> None:
    payload = {**_BASE, "output": [], **change}
    with pytest.raises(ValidationError):
        SDKResponse.model_validate(payload)
    with pytest.raises(ValidationError):
        Response.model_validate(payload)


def test_unknown_items_and_fields_are_kept_whole() -> None:
    item = {"type": "web_search_call", "id": "ws", "status": "completed", "action": {"type": "search", "query": "q"}}
    payload = {**_BASE, "output": [item, {**_ITEMS[1], "brand_new": [1, 2]}], "service_tier": "default"}
    response = Response.model_validate(payload)
    assert isinstance(response.output[0], UnknownItem)
    assert _dump(payload) == payload
    assert _sdk_dump(payload)["output"] == payload["output"]


_text = st.text(max_size=20)
_items = st.one_of(
    st.builds(
        lambda i, t, s: {
            "type": "message",
            "id": i,
            "role": "assistant",
            "status": s,
            "content": [{"type": "output_text", "text": t, "annotations": []}],
        },
        _text,
        _text,
        st.sampled_from(["in_progress", "completed", "incomplete"]),
    ),
    st.builds(lambda c, n, a: {"type": "function_call", "call_id": c, "name": n, "arguments": a}, _text, _text, _text),
    st.builds(lambda c, o: {"type": "function_call_output", "call_id": c, "output": o}, _text, _text),
    st.builds(
        lambda i, t: {"type": "reasoning", "id": i, "summary": [{"type": "summary_text", "text": t}]}, _text, _text
    ),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    output=st.lists(_items, max_size=6),
    usage=st.none()
    | st.builds(lambda i, o: {"input_tokens": i, "output_tokens": o}, st.integers(0, 99), st.integers(0, 9)),
    temperature=st.none() | st.floats(0, 2),
)
def test_any_episode_dumps_as_the_sdk_dumps_it(
    output: list[dict[str, Any]], usage: dict[str, int] | None, temperature: float | None
) -> None:
    payload = {**_BASE, "output": output, "temperature": temperature}
    if usage is not None:  # the SDK requires every count and details object; gymhall reads partial usages
        payload["usage"] = {**usage, "total_tokens": sum(usage.values())}
        payload["usage"] = complete_usage(payload["usage"])
    assert _dump(payload) == _sdk_dump(payload)
    assert Response.model_validate(payload).output_text == SDKResponse.model_validate(payload).output_text
