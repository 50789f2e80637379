from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from openai.types.chat import ChatCompletion

from gymhall.wire.conversion import (
    TOKEN_FIELDS,
    chat_request_to_responses,
    chat_to_response,
    response_to_chat,
    responses_to_chat_request,
    split_think_tags,
)
from gymhall.wire.responses import Response, ResponseCreateParams

FIXTURES = Path(__file__).parents[1] / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def normalized(items: list[Any]) -> list[tuple[Any, ...]]:
    """What a round trip must keep of Responses items: kinds, roles, texts, call ids, names, arguments, outputs."""
    result: list[tuple[Any, ...]] = []
    for raw in items:
        item = raw.model_dump(mode="json") if hasattr(raw, "model_dump") else raw
        kind = item.get("type") or "message"
        if kind == "message":
            content = item["content"]
            text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
            result.append((kind, item["role"], text))
        elif kind == "reasoning":
            parts = item.get("content") or item.get("summary")
            result.append((kind, "".join(p["text"] for p in parts)))
        elif kind == "function_call":
            result.append((kind, item["call_id"], item["name"], item["arguments"]))
        elif kind == "function_call_output":
            output = item["output"]
            text = output if isinstance(output, str) else "".join(p.get("text", "") for p in output)
            result.append((kind, item["call_id"], text))
        else:
            raise AssertionError(f"unexpected item {item}")
    return result


def test_vllm_tool_call_with_reasoning_and_token_ids() -> None:
    completion = load("chat_vllm_tool_call_token_ids.json")
    response = chat_to_response(completion)
    reasoning, call = response.output
    assert reasoning.type == "reasoning" and call.type == "function_call"
    assert reasoning.summary[0].text == "The user wants the weather in Paris. I should call get_weather."
    assert call.call_id == "chatcmpl-tool-8d2f4e6a0b1c4d3e9f7a6b5c4d3e2f10" and call.name == "get_weather"
    assert call.arguments == '{"city": "Paris", "unit": "celsius"}'
    assert response.id.startswith("resp_") and reasoning.id.startswith("rs_") and call.id.startswith("fc_")
    assert response.status == "completed" and response.incomplete_details is None
    assert response.model == "Qwen/Qwen3-8B" and response.created_at == 1761739200

    # The token fields sit on the last item of the call only, and survive every way of dumping it.
    choice = completion["choices"][0]
    expected = {
        "prompt_token_ids": completion["prompt_token_ids"],
        "generation_token_ids": choice["token_ids"],
        "generation_log_probs": [entry["logprob"] for entry in choice["logprobs"]["content"]],
    }
    assert not set(TOKEN_FIELDS) & set(reasoning.model_dump())
    for dumped in (
        response.model_dump(mode="json")["output"][-1],
        response.model_dump(mode="json", exclude_unset=True)["output"][-1],  # as the agent stores items
        json.loads(response.model_dump_json())["output"][-1],
        Response.model_validate_json(response.model_dump_json()).output[-1].model_dump(),
    ):
        assert {field: dumped[field] for field in TOKEN_FIELDS} == expected


def test_token_ids_are_read_from_token_id_strings_when_the_choice_has_none() -> None:
    completion = load("chat_vllm_tool_call_token_ids.json")
    del completion["choices"][0]["token_ids"]
    call = chat_to_response(completion).output[-1].model_dump()
    assert call["generation_token_ids"] == [151667, 198, 785, 1196, 6801, 279, 9104, 304, 12095, 13] + [
        151668,
        271,
        151657,
        198,
        4913,
        151658,
        151645,
    ]


def test_token_fields_are_all_or_nothing() -> None:
    completion = load("chat_vllm_tool_call_token_ids.json")
    del completion["prompt_token_ids"]  # a vLLM too old for `return_token_ids`
    output = chat_to_response(completion).model_dump(mode="json")["output"]
    assert all(field not in item for item in output for field in TOKEN_FIELDS)


def test_token_fields_need_an_item_to_sit_on() -> None:
    completion = load("chat_vllm_tool_call_token_ids.json")
    message = completion["choices"][0]["message"]
    message.update(content=None, tool_calls=[], reasoning=None, reasoning_content=None)
    (item,) = chat_to_response(completion).model_dump(mode="json")["output"]
    assert item["type"] == "message" and item["content"][0]["text"] == ""
    assert item["generation_token_ids"] == completion["choices"][0]["token_ids"]


def test_the_sdk_chat_completion_object_works_too() -> None:
    completion = load("chat_vllm_tool_call_token_ids.json")
    response = chat_to_response(ChatCompletion.model_validate(completion))
    assert response.output[-1].model_dump()["prompt_token_ids"] == completion["prompt_token_ids"]
    assert response.output[0].type == "reasoning"


def test_openai_parallel_tool_calls_and_usage() -> None:
    completion = load("chat_openai_parallel_tool_calls.json")
    params = {"input": "weather?", "tools": [{"type": "function", "name": "get_weather", "parameters": {}}]}
    response = chat_to_response(completion, request_params=params)
    assert [(i.type, i.call_id, i.name, i.arguments) for i in response.output] == [
        ("function_call", "call_Qm8pZ2rT5vX1yB4nC7dF0gHj", "get_weather", '{"location":"Paris, France"}'),
        ("function_call", "call_Lk3sW6uE9iO2pA5dG8hJ1kNb", "get_weather", '{"location":"Bogotá, Colombia"}'),
    ]
    assert response.usage is not None
    assert response.usage.model_dump() == {
        "input_tokens": 82,
        "input_tokens_details": {"cached_tokens": 64, "cache_write_tokens": 0},
        "output_tokens": 48,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 130,
    }
    assert response.tools[0].name == "get_weather"  # the request's tools are echoed


def test_length_with_an_unclosed_think_block_is_incomplete_reasoning() -> None:
    response = chat_to_response(load("chat_vllm_length_unclosed_think.json"))
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    (item,) = response.output
    assert item.type == "reasoning" and item.status == "incomplete"
    assert item.summary[0].text.startswith("Okay, I need to count") and "<think>" not in item.summary[0].text


def test_content_filter_is_incomplete() -> None:
    choice = {"index": 0, "finish_reason": "content_filter", "message": {"role": "assistant", "content": "I can"}}
    response = chat_to_response({"id": "x", "created": 1, "model": "m", "choices": [choice]})
    assert response.incomplete_details is not None and response.incomplete_details.reason == "content_filter"
    assert response.output_text == "I can"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>plan</think>answer", ("plan", "answer")),
        ("\n<think>\nplan\n</think>\n\nanswer", ("plan", "answer")),
        ("<think>\ncut off mid-thought", ("cut off mid-thought", "")),
        ("opened by the template\n</think>\n\nanswer", ("opened by the template", "answer")),
        ("<think>\n\n</think>\n\nanswer", ("", "answer")),
        ("no reasoning here", (None, "no reasoning here")),
        ("", (None, "")),
    ],
)
def test_split_think_tags(text: str, expected: tuple[str | None, str]) -> None:
    assert split_think_tags(text) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"content": "<think>plan</think>answer"}, [("reasoning", "plan"), ("message", "assistant", "answer")]),
        ({"content": "<think>\n\n</think>\n\nanswer"}, [("message", "assistant", "answer")]),
        (
            {"content": "answer", "reasoning_content": "plan"},
            [("reasoning", "plan"), ("message", "assistant", "answer")],
        ),
        ({"content": "answer", "reasoning": "plan"}, [("reasoning", "plan"), ("message", "assistant", "answer")]),
        ({"content": ""}, [("message", "assistant", "")]),
        ({"content": None}, []),
    ],
)
def test_reasoning_is_read_from_fields_or_think_tags(message: dict[str, Any], expected: list[Any]) -> None:
    choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", **message}}
    assert normalized(chat_to_response({"choices": [choice]}).output) == expected


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (None, None),
        (
            {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15, "cached": 0, "reasoning": 0},
        ),
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 8},
                "completion_tokens_details": {"reasoning_tokens": 3},
            },
            {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15, "cached": 8, "reasoning": 3},
        ),
    ],
)
def test_usage_mapping(usage: dict[str, Any] | None, expected: dict[str, int] | None) -> None:
    choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}
    result = chat_to_response({"choices": [choice], "usage": usage}).usage
    if expected is None:
        assert result is None
        return
    assert result is not None
    assert (result.input_tokens, result.output_tokens, result.total_tokens) == (
        expected["input_tokens"],
        expected["output_tokens"],
        expected["total_tokens"],
    )
    assert result.input_tokens_details == {"cached_tokens": expected["cached"], "cache_write_tokens": 0}
    assert result.output_tokens_details == {"reasoning_tokens": expected["reasoning"]}


@pytest.mark.parametrize("arguments", ['{"city": "Par', "", "not json at all", '{"a": 1}{"b": 2}'])
def test_malformed_arguments_are_kept_verbatim(arguments: str) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    choice = {"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "tool_calls": [call]}}
    (item,) = chat_to_response({"choices": [choice]}).output
    assert item.arguments == arguments
    body = responses_to_chat_request({"input": [item, {"type": "function_call_output", "call_id": "call_1"}]})
    assert body["messages"][0]["tool_calls"][0]["function"]["arguments"] == arguments


def test_multi_turn_input_becomes_chat_messages() -> None:
    params = load("responses_multi_turn_input.json")
    body = responses_to_chat_request(params)
    weather = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert body["messages"] == [
        {"role": "system", "content": "You are a helpful weather assistant."},
        {"role": "developer", "content": "Answer in one sentence."},
        {"role": "user", "content": "What's the weather in Paris and in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "reasoning": "Two cities: call get_weather twice, in parallel.",
            "reasoning_content": "Two cities: call get_weather twice, in parallel.",
            "tool_calls": [
                {"id": "call_paris_1", "type": "function", "function": weather},
                {
                    "id": "call_oslo_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"'},  # malformed, verbatim
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_paris_1", "content": '{"temperature_c": 18, "sky": "cloudy"}'},
        {
            "role": "tool",
            "tool_call_id": "call_oslo_2",
            "content": 'Error: arguments are not valid JSON; send {"city": "Oslo"}.',
        },
        {
            "role": "assistant",
            "content": None,
            "reasoning": "Retry Oslo with valid JSON.",
            "reasoning_content": "Retry Oslo with valid JSON.",
            "tool_calls": [
                {
                    "id": "call_oslo_3",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_oslo_3", "content": '{"temperature_c": 9, "sky": "rain"}'},
        {
            "role": "assistant",
            "content": "Paris is 18 °C and cloudy; Oslo is 9 °C and rainy.",
            "reasoning": "Both results are in.",
            "reasoning_content": "Both results are in.",
        },
        {"role": "user", "content": "Thanks! And tomorrow?"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather for a city.",
                "parameters": params["tools"][0]["parameters"],
                "strict": True,
            },
        }
    ]
    rest = {k: v for k, v in body.items() if k not in ("messages", "tools")}
    assert rest == {
        "model": "Qwen/Qwen3-8B",
        "temperature": 0.6,
        "top_p": 0.95,
        "max_completion_tokens": 1024,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
    }


def test_think_tags_format_puts_reasoning_in_the_content() -> None:
    params = load("responses_multi_turn_input.json")
    messages = responses_to_chat_request(params, reasoning_format="think_tags")["messages"]
    assert messages[3]["content"] == "<think>\nTwo cities: call get_weather twice, in parallel.\n</think>\n\n"
    assert messages[-2]["content"] == (
        "<think>\nBoth results are in.\n</think>\n\nParis is 18 °C and cloudy; Oslo is 9 °C and rainy."
    )
    assert all("reasoning" not in m and "reasoning_content" not in m for m in messages)
    # ... and the tags come back as reasoning items.
    back = chat_request_to_responses({"messages": messages})["input"]
    assert normalized(back) == normalized(chat_request_to_responses(responses_to_chat_request(params))["input"])


def test_responses_to_chat_to_responses_round_trip_is_lossless() -> None:
    params = load("responses_multi_turn_input.json")
    back = chat_request_to_responses(responses_to_chat_request(params))
    ResponseCreateParams.model_validate(back)
    instructions = [("message", "system", params["instructions"])]
    assert normalized(back["input"]) == instructions + normalized(params["input"])
    assert back["tools"] == params["tools"]
    assert (back["max_output_tokens"], back["tool_choice"], back["parallel_tool_calls"]) == (1024, "auto", True)


CHAT_CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Look:"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
        ],
    },
    {
        "role": "assistant",
        "content": "Checking.",
        "reasoning": "Need the tool.",
        "reasoning_content": "Need the tool.",
        "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": '{"q": 1}'}},
            {"id": "call_b", "type": "function", "function": {"name": "lookup", "arguments": "{bad json"}},
        ],
    },
    {"role": "tool", "tool_call_id": "call_a", "content": "one"},
    {"role": "tool", "tool_call_id": "call_b", "content": "error: bad json"},
    {"role": "assistant", "content": "Done."},
    {"role": "user", "content": "Thanks."},
]


def test_chat_to_responses_to_chat_round_trip_is_exact() -> None:
    body = {
        "model": "m",
        "messages": CHAT_CONVERSATION,
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "parallel_tool_calls": False,
        "max_completion_tokens": 256,
        "temperature": 0.2,
        "seed": 7,  # unknown to the Responses API: passes through both ways
    }
    params = chat_request_to_responses(body)
    ResponseCreateParams.model_validate(params)
    assert params["tools"] == [
        {"type": "function", "name": "lookup", "parameters": {"type": "object"}, "strict": False}
    ]
    again = responses_to_chat_request(params)
    expected = copy.deepcopy(body)
    expected["tools"][0]["function"]["strict"] = False  # chat tools are not strict; the Responses API says so
    assert again == expected


def test_response_to_chat_round_trip_keeps_items_and_token_ids() -> None:
    completion = load("chat_vllm_tool_call_token_ids.json")
    response = chat_to_response(completion)
    chat = response_to_chat(response)
    ChatCompletion.model_validate(chat)  # the shape OpenAI clients expect
    choice = chat["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and chat["model"] == "Qwen/Qwen3-8B"
    assert choice["message"]["tool_calls"] == completion["choices"][0]["message"]["tool_calls"]
    assert choice["message"]["reasoning"] == completion["choices"][0]["message"]["reasoning"]
    assert chat["usage"]["prompt_tokens"] == 26 and chat["usage"]["completion_tokens"] == 17
    again = chat_to_response(chat)
    assert normalized(again.output) == normalized(response.output)
    assert again.output[-1].model_dump(include=set(TOKEN_FIELDS)) == response.output[-1].model_dump(
        include=set(TOKEN_FIELDS)
    )


def test_response_to_chat_answers_the_last_model_call_of_an_episode() -> None:
    first = chat_to_response(load("chat_openai_parallel_tool_calls.json"))
    results = [{"type": "function_call_output", "call_id": item.call_id, "output": "18C"} for item in first.output]
    final = chat_to_response(
        {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Warm."}}]}
    )
    episode = first.model_copy(update={"output": [*first.output, *results, *final.output]})
    chat = response_to_chat(episode, model="served")
    assert chat["model"] == "served" and chat["choices"][0]["finish_reason"] == "stop"
    assert chat["choices"][0]["message"] == {"role": "assistant", "content": "Warm."}

    incomplete = chat_to_response(load("chat_vllm_length_unclosed_think.json"))
    assert response_to_chat(incomplete)["choices"][0]["finish_reason"] == "length"


def test_items_from_the_sdk_are_accepted_as_input() -> None:
    response = chat_to_response(load("chat_openai_parallel_tool_calls.json"))
    results = [{"type": "function_call_output", "call_id": i.call_id, "output": "ok"} for i in response.output]
    user = {"role": "user", "content": "weather?"}
    messages = responses_to_chat_request({"input": [user, *response.output, *results]})["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == [i.call_id for i in response.output]


def test_model_side_items_of_one_call_make_one_assistant_message() -> None:
    def reasoning(text: str) -> dict[str, Any]:
        return {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": text}]}

    def said(text: str) -> dict[str, Any]:
        return {"type": "message", "role": "assistant", "content": text}

    call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    items = [reasoning("r1"), said("a1"), call, reasoning("r2"), reasoning("r3"), said("a3"), said("a4")]
    messages = responses_to_chat_request({"input": items})["messages"]
    # A new call starts at reasoning after anything, or a message after a message or calls.
    assert [(m.get("reasoning"), m["content"], len(m.get("tool_calls", []))) for m in messages] == [
        ("r1", "a1", 1),
        ("r2", "", 0),
        ("r3", "a3", 0),
        (None, "a4", 0),
    ]


def test_request_parameters_are_mapped() -> None:
    params = {
        "input": "hi",
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": None}],
        "tool_choice": {"type": "function", "name": "f"},
        "max_output_tokens": 64,
        "top_logprobs": 2,
        "reasoning": {"effort": "low", "summary": "auto"},
        "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True}},
        "metadata": {"chat_template_kwargs": '{"enable_thinking": false}', "extra_body": '{"seed": 3}', "k": "v"},
        "include": ["reasoning.encrypted_content"],
        "store": False,
        "truncation": "auto",
        "previous_response_id": None,
        "top_k": 20,  # a vLLM sampling parameter: passed through
    }
    body = responses_to_chat_request(params, max_tokens_key="max_tokens")
    assert body == {
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "max_tokens": 64,
        "logprobs": True,
        "top_logprobs": 2,
        "reasoning_effort": "low",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
        },
        "chat_template_kwargs": {"enable_thinking": False},
        "seed": 3,
        "top_k": 20,
    }
    back = chat_request_to_responses(body)
    assert back["text"] == {"format": params["text"]["format"]} and back["reasoning"] == {"effort": "low"}
    assert back["tool_choice"] == params["tool_choice"] and back["max_output_tokens"] == 64
    assert back["top_logprobs"] == 2


def test_tool_choice_and_parallel_calls_need_tools() -> None:
    body = responses_to_chat_request({"input": "hi", "tool_choice": "auto", "parallel_tool_calls": True, "tools": []})
    assert body == {"messages": [{"role": "user", "content": "hi"}]}


def test_multimodal_parts() -> None:
    content = [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"},
    ]
    (message,) = responses_to_chat_request({"input": [{"role": "user", "content": content}]})["messages"]
    assert message["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "auto"}},
    ]
    (item,) = chat_request_to_responses({"messages": [message]})["input"]
    assert item == {"type": "message", "role": "user", "content": content}


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (
            {"input": "hi", "tools": [{"type": "web_search"}]},
            r"tools\[0\]: 'web_search' tools exist only in the Responses API",
        ),
        ({"input": [{"type": "item_reference", "id": "x"}]}, r"input\[0\]: items of type 'item_reference'"),
        ({"input": [{"type": "function_call", "name": "f"}]}, r"input\[0\]: a function_call item needs"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]}, "content part"),
        ({"input": "hi", "metadata": {"extra_body": "{nope"}}, "metadata.extra_body must be a JSON object"),
    ],
)
def test_unconvertible_requests_name_the_problem(params: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        responses_to_chat_request(params)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"messages": []}, "non-empty list"),
        ({"messages": [{"role": "user", "content": "hi"}], "n": 2}, "'n' must be 1"),
        ({"messages": [{"role": "function", "content": "x"}]}, "role 'function' is not supported"),
        ({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}, r"tools\[0\] must be"),
    ],
)
def test_unconvertible_chat_requests_name_the_problem(body: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        chat_request_to_responses(body)


@pytest.mark.parametrize("completion", [{}, {"choices": []}, {"choices": ["x"]}, [1]])
def test_a_completion_without_choices_is_refused(completion: Any) -> None:
    with pytest.raises(ValueError, match="no choices|JSON object"):
        chat_to_response(completion)


@pytest.mark.parametrize("fixture", ["chat_openai_parallel_tool_calls.json", "chat_vllm_length_unclosed_think.json"])
def test_converted_answers_validate_as_the_openai_sdks_response(fixture: str) -> None:
    from openai.types.responses import Response as SDKResponse

    dumped = chat_to_response(load(fixture)).model_dump(mode="json", exclude_unset=True)
    response = SDKResponse.model_validate(dumped)  # usage details included: NeMo Gym's typed verify needs them
    assert response.usage is None or response.usage.input_tokens_details.cached_tokens >= 0
