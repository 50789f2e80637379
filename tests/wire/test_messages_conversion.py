"""Responses <-> Anthropic Messages, field by field, both directions, checked against the anthropic SDK's types."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import Message
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from pydantic import TypeAdapter

from gymhall.wire.messages_conversion import (
    DEFAULT_MAX_TOKENS,
    messages_request_to_responses,
    messages_to_response,
    responses_to_messages_request,
    stop_reason_for,
)

CREATE_PARAMS = TypeAdapter(MessageCreateParamsNonStreaming)
SDK_KEYS = MessageCreateParamsNonStreaming.__required_keys__ | MessageCreateParamsNonStreaming.__optional_keys__
SAMPLING = {"temperature", "top_p", "top_k"}  # listed by the SDK before 2.x; sent only when a request sets them
PNG = "iVBORw0KGgo="
INCREMENT = {
    "type": "function",
    "name": "increment",
    "description": "Add `by` to the counter.",
    "parameters": {"type": "object", "properties": {"by": {"type": "integer"}}, "required": ["by"]},
    "strict": True,
}


def sdk_checked(body: dict[str, Any]) -> dict[str, Any]:
    """`body` after validating it as the SDK's create params (with a model, as the backend adds it)."""
    assert set(body) <= SDK_KEYS | SAMPLING  # the API refuses keys it does not know
    CREATE_PARAMS.validate_python({**body, "model": "claude-test"})
    return body


def conversation() -> list[dict[str, Any]]:
    """Two model calls: reasoning and two tool calls, their results, then a final answer and a follow-up."""
    return [
        {"role": "developer", "content": "Use the tools."},
        {"role": "user", "content": [{"type": "input_text", "text": "Add 3."}]},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "call twice"}],
            "encrypted_content": "sig-1",
        },
        {"type": "function_call", "call_id": "toolu_a", "name": "increment", "arguments": '{"by": 1}'},
        {"type": "function_call", "call_id": "toolu_b", "name": "increment", "arguments": '{"by": 2}'},
        {"type": "function_call_output", "call_id": "toolu_a", "output": '{"value": 1}'},
        {"type": "function_call_output", "call_id": "toolu_b", "output": '{"value": 3}'},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "3", "annotations": []}]},
        {"role": "user", "content": "Thanks."},
    ]


def test_a_conversation_becomes_alternating_turns_with_tool_use_and_results() -> None:
    body = sdk_checked(responses_to_messages_request({"instructions": "Be brief.", "input": conversation()}))
    assert body["system"] == "Be brief.\n\nUse the tools."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    assert body["messages"][0]["content"] == [{"type": "text", "text": "Add 3."}]
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "call twice", "signature": "sig-1"},
        {"type": "tool_use", "id": "toolu_a", "name": "increment", "input": {"by": 1}},
        {"type": "tool_use", "id": "toolu_b", "name": "increment", "input": {"by": 2}},
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_a", "content": '{"value": 1}'},
        {"type": "tool_result", "tool_use_id": "toolu_b", "content": '{"value": 3}'},
    ]
    assert body["messages"][3]["content"] == [{"type": "text", "text": "3"}]
    assert body["messages"][4]["content"] == [{"type": "text", "text": "Thanks."}]
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS


def test_a_string_input_is_one_user_turn() -> None:
    body = sdk_checked(responses_to_messages_request({"input": "hi", "max_output_tokens": 64}))
    assert body == {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "max_tokens": 64}


def test_unsigned_reasoning_is_dropped_and_signed_reasoning_without_text_is_redacted_thinking() -> None:
    items = [
        {"role": "user", "content": "go"},
        {"type": "reasoning", "id": "rs_x", "summary": [{"type": "summary_text", "text": "another model's"}]},
        {"type": "reasoning", "id": "rs_y", "summary": [], "encrypted_content": "opaque"},
        {"type": "message", "role": "assistant", "content": "done"},
    ]
    body = sdk_checked(responses_to_messages_request({"input": items}))
    assert body["messages"][1]["content"] == [
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "done"},
    ]


def test_images_and_pdfs_become_source_blocks() -> None:
    content = [
        {"type": "input_text", "text": "look"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"},
        {"type": "input_image", "image_url": "https://example.com/cat.jpg", "detail": "auto"},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0="},
    ]
    body = sdk_checked(responses_to_messages_request({"input": [{"role": "user", "content": content}]}))
    assert body["messages"][0]["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
    ]
    back = messages_request_to_responses({**body, "model": "m"})
    assert back["input"] == [{"type": "message", "role": "user", "content": content}]


def test_tools_tool_choice_and_sampling() -> None:
    params = {
        "input": "count",
        "tools": [INCREMENT],
        "tool_choice": {"type": "function", "name": "increment"},
        "parallel_tool_calls": False,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 5,
        "safety_identifier": "user-7",
        "store": False,  # no Messages meaning: dropped, since the API refuses unknown keys
        "reasoning": {"effort": "minimal"},
        "text": {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}}},
        "include": ["reasoning.encrypted_content"],
    }
    body = sdk_checked(responses_to_messages_request(params))
    assert body["tools"] == [
        {"name": "increment", "description": "Add `by` to the counter.", "input_schema": INCREMENT["parameters"]}
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "increment", "disable_parallel_tool_use": True}
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.2, 0.9, 5)
    assert body["metadata"] == {"user_id": "user-7"}
    assert body["output_config"] == {"effort": "low", "format": {"type": "json_schema", "schema": {"type": "object"}}}
    assert not {"store", "reasoning", "include", "parallel_tool_calls"} & set(body)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("auto", {"type": "auto"}), ("required", {"type": "any"}), ("none", {"type": "none"}), (None, None)],
)
def test_tool_choice_keywords(choice: Any, expected: Any) -> None:
    body = sdk_checked(responses_to_messages_request({"input": "x", "tools": [INCREMENT], "tool_choice": choice}))
    assert body.get("tool_choice") == expected


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{bad"}]}, "not JSON"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}]}, "JSON object"),
        ({"input": [{"type": "custom_tool_call", "call_id": "c", "name": "f"}]}, "'custom_tool_call'"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0]: 'web_search' tools"),
        ({"input": [{"role": "system", "content": "only a system prompt"}]}, "at least one message"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]}, "content[0]"),
    ],
)
def test_what_messages_cannot_carry_is_refused_by_name(params: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        responses_to_messages_request(params)
    assert problem in str(caught.value)


def answer(content: list[dict[str, Any]], stop_reason: str = "end_turn", **usage: int) -> dict[str, Any]:
    message = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 7, **usage},
    }
    Message.model_validate(message)  # the shape the real API answers
    return message


def test_an_answer_becomes_reasoning_text_and_function_calls_in_order() -> None:
    content = [
        {"type": "thinking", "thinking": "plan", "signature": "sig-9"},
        {"type": "text", "text": "Calling "},
        {"type": "text", "text": "now."},
        {"type": "tool_use", "id": "toolu_1", "name": "increment", "input": {"by": 1}},
    ]
    params = {"input": "x", "tools": [INCREMENT], "temperature": 0.5, "max_output_tokens": 99}
    response = messages_to_response(answer(content, "tool_use"), request_params=params)
    assert [item.type for item in response.output] == ["reasoning", "message", "function_call"]
    reasoning, message, call = response.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content == "sig-9"
    assert reasoning.content is not None and reasoning.content[0].text == "plan"
    assert message.type == "message" and [part.text for part in message.content] == ["Calling ", "now."]
    assert call.type == "function_call" and (call.call_id, call.name, call.arguments) == (
        "toolu_1",
        "increment",
        '{"by":1}',
    )
    assert response.status == "completed" and response.incomplete_details is None
    assert response.output_text == "Calling now."
    assert (response.id, response.model, response.temperature, response.max_output_tokens) == (
        "msg_01",
        "claude-test",
        0.5,
        99,
    )
    assert [tool.name for tool in response.tools] == ["increment"]


@pytest.mark.parametrize(
    ("stop_reason", "status", "reason"),
    [
        ("end_turn", "completed", None),
        ("stop_sequence", "completed", None),
        ("tool_use", "completed", None),
        ("max_tokens", "incomplete", "max_output_tokens"),
        ("model_context_window_exceeded", "incomplete", "max_output_tokens"),
        ("refusal", "incomplete", "content_filter"),
    ],
)
def test_stop_reasons(stop_reason: str, status: str, reason: str | None) -> None:
    response = messages_to_response(answer([{"type": "text", "text": "t"}], stop_reason))
    assert response.status == status
    assert (response.incomplete_details.reason if response.incomplete_details else None) == reason
    has_calls = stop_reason == "tool_use"
    if stop_reason in ("end_turn", "tool_use", "max_tokens", "refusal"):
        assert stop_reason_for(reason, has_calls) == stop_reason


def test_usage_counts_cached_input_as_input() -> None:
    usage = {"cache_creation_input_tokens": 5, "cache_read_input_tokens": 20}
    response = messages_to_response(answer([{"type": "text", "text": "t"}], **usage))
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (35, 7, 42)
    assert response.usage.input_tokens_details["cached_tokens"] == 20


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"type": "error", "error": {}}, "type 'error'"),
        ({"type": "message", "content": [{"type": "server_tool_use", "id": "s", "name": "web_search"}]}, "content[0]"),
        ("text", "JSON object"),
    ],
)
def test_unusable_answers_are_refused_by_name(message: Any, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        messages_to_response(message)
    assert problem in str(caught.value)


def test_an_sdk_message_is_accepted_as_it_is() -> None:
    message = Message.model_validate(answer([{"type": "text", "text": "hello"}]))
    assert messages_to_response(message).output_text == "hello"


def test_a_conversation_round_trips_through_messages_and_back() -> None:
    params = {"instructions": "Be brief.", "input": conversation(), "tools": [INCREMENT], "max_output_tokens": 50}
    body = sdk_checked(responses_to_messages_request(params))
    back = messages_request_to_responses({**body, "model": "claude-test"})
    assert back["instructions"] == "Be brief.\n\nUse the tools."
    assert back["max_output_tokens"] == 50 and back["model"] == "claude-test"
    assert [tool["name"] for tool in back["tools"]] == ["increment"]
    kinds = [(item.get("type"), item.get("role")) for item in back["input"]]
    assert kinds == [
        ("message", "user"),
        ("reasoning", None),
        ("function_call", None),
        ("function_call", None),
        ("function_call_output", None),
        ("function_call_output", None),
        ("message", "assistant"),
        ("message", "user"),
    ]
    assert back["input"][1]["encrypted_content"] == "sig-1"
    assert [item["arguments"] for item in back["input"][2:4]] == ['{"by":1}', '{"by":2}']
    assert [item["output"] for item in back["input"][4:6]] == ['{"value": 1}', '{"value": 3}']
    # Sent again, the Responses view gives the same Messages request: nothing is lost either way.
    assert responses_to_messages_request({**back, "instructions": back["instructions"]})["messages"] == body["messages"]


def test_error_tool_results_keep_their_flag_in_the_text() -> None:
    body = {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "boom", "is_error": True}],
            },
        ],
    }
    items = messages_request_to_responses(body)["input"]
    assert items[-1] == {"type": "function_call_output", "call_id": "t1", "output": "Error: boom"}
