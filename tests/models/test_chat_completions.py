from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gymhall.exceptions import ModelError
from gymhall.models.base import ModelRequest
from gymhall.models.chat_completions import ChatCompletionsModel
from gymhall.testing import Failure, FakeOpenAI, ToolCall, Turn, echo_policy, scripted

FIXTURES = Path(__file__).parent.parent / "fixtures"


def recording_app(answer: dict[str, Any], bodies: list[dict[str, Any]]) -> Starlette:
    """A chat completions server answering `answer` to every request and recording the bodies."""

    async def chat(request: Request) -> JSONResponse:
        bodies.append(await request.json())
        return JSONResponse(answer)

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


async def test_tool_calls_and_their_results_travel_as_chat_messages(serve: Any) -> None:
    turns = [
        Turn(reasoning="two calls", tool_calls=[ToolCall("increment", {"by": 1}), ToolCall("increment", "{bad")]),
        Turn(text="3"),
    ]
    fake = FakeOpenAI(scripted(turns))
    async with ChatCompletionsModel("m", base_url=serve(fake)) as model:
        first = await model.respond(ModelRequest(params={"input": "count"}))
        assert [item.type for item in first.output] == ["reasoning", "function_call", "function_call"]
        assert [item.arguments for item in first.output[1:]] == ['{"by":1}', "{bad"]
        calls = [item.model_dump(mode="json", exclude_unset=True) for item in first.output]  # as the agent keeps them
        outputs = [{"type": "function_call_output", "call_id": c["call_id"], "output": "ok"} for c in calls[1:]]
        second = await model.respond(
            ModelRequest(params={"input": [{"role": "user", "content": "count"}, *calls, *outputs]})
        )
    assert second.output_text == "3" and second.status == "completed"
    assert second.usage is not None and second.usage.total_tokens > 0
    messages = fake.requests[-1].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert messages[1]["reasoning"] == "two calls" and messages[1]["content"] is None
    assert [c["function"]["arguments"] for c in messages[1]["tool_calls"]] == ['{"by":1}', "{bad"]
    assert [m["tool_call_id"] for m in messages[2:]] == [c["call_id"] for c in calls[1:]]


async def test_think_tags_format_sends_reasoning_in_the_content(serve: Any) -> None:
    fake = FakeOpenAI(scripted([Turn(text="<think>plan</think>answer"), "again"]))
    async with ChatCompletionsModel("m", base_url=serve(fake), reasoning_format="think_tags") as model:
        first = await model.respond(ModelRequest(params={"input": "hi"}))
        assert [item.type for item in first.output] == ["reasoning", "message"] and first.output_text == "answer"
        await model.respond(ModelRequest(params={"input": [{"role": "user", "content": "hi"}, *first.output]}))
    assert fake.requests[-1].body["messages"][1] == {
        "role": "assistant",
        "content": "<think>\nplan\n</think>\n\nanswer",
    }


async def test_body_precedence_extra_body_then_params_then_sampling(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy)
    async with ChatCompletionsModel(
        "m",
        base_url=serve(fake),
        sampling={"temperature": 1.0, "max_output_tokens": 512},
        extra_body={"temperature": 0.1, "top_k": 5, "chat_template_kwargs": {"enable_thinking": False}},
    ) as model:
        params = {"input": "hi", "temperature": 0.5, "top_p": 0.9, "max_output_tokens": 64, "model": "other"}
        await model.respond(ModelRequest(params={**params, "stream": True}))
    assert fake.requests[-1].body == {
        "messages": [{"role": "user", "content": "hi"}],
        "model": "m",
        "temperature": 1.0,
        "top_p": 0.9,
        "top_k": 5,
        "max_completion_tokens": 512,  # pinned by sampling, over the request's 64
        "chat_template_kwargs": {"enable_thinking": False},
    }


async def test_token_ids_are_requested_and_kept(serve: Any) -> None:
    completion = json.loads((FIXTURES / "chat_vllm_tool_call_token_ids.json").read_text())
    bodies: list[dict[str, Any]] = []
    async with ChatCompletionsModel(
        "Qwen/Qwen3-8B", base_url=serve(recording_app(completion, bodies)), return_token_ids=True
    ) as model:
        response = await model.respond(ModelRequest(params={"input": "weather in Paris?"}))
    sent = bodies[-1]
    assert (sent["logprobs"], sent["top_logprobs"], sent["return_token_ids"], sent["return_tokens_as_token_ids"]) == (
        True,
        0,
        True,
        True,
    )
    last = response.model_dump(mode="json")["output"][-1]
    assert last["type"] == "function_call"
    assert last["prompt_token_ids"] == completion["prompt_token_ids"]
    assert last["generation_token_ids"] == completion["choices"][0]["token_ids"]
    assert len(last["generation_log_probs"]) == len(last["generation_token_ids"])


async def test_without_token_ids_nothing_extra_is_asked(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy)
    async with ChatCompletionsModel("m", base_url=serve(fake)) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
    assert not {"logprobs", "top_logprobs", "return_token_ids"} & set(fake.requests[-1].body)


@pytest.mark.parametrize(
    "message",
    [
        "This model's maximum context length is 4096 tokens. However, you requested 4200 tokens "
        "(3900 in the messages, 300 in the completion). Please reduce the length of the messages or completion.",
        "'max_tokens' or 'max_completion_tokens' is too large: 300. This model's maximum context length is 4096 "
        "tokens and your request has 3900 input tokens (300 > 4096 - 3900).",
        "The decoder prompt (length 5000) is longer than the maximum model length of 4096. Make sure that "
        "`max_model_len` is no smaller than the number of text tokens.",
    ],
)
async def test_a_full_context_ends_the_episode_gracefully(serve: Any, message: str) -> None:
    fake = FakeOpenAI(lambda request: Failure(400, message))
    async with ChatCompletionsModel("m", base_url=serve(fake), max_retries=3) as model:
        response = await model.respond(ModelRequest(params={"input": "hi", "tools": []}))
    assert response.status == "incomplete" and response.output == []
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert fake.request_count == 1


async def test_an_unusable_answer_is_a_model_error(serve: Any) -> None:
    bodies: list[dict[str, Any]] = []
    url = serve(recording_app({"id": "x", "object": "chat.completion", "choices": []}, bodies))
    async with ChatCompletionsModel("m", base_url=url) as model:
        with pytest.raises(ModelError, match="answered an unusable chat completion: .*no choices") as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert not caught.value.retryable and url in str(caught.value)


async def test_a_request_chat_cannot_express_fails_before_sending(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy)
    async with ChatCompletionsModel("m", base_url=serve(fake)) as model:
        with pytest.raises(ModelError, match="'web_search' tools exist only in the Responses API"):
            await model.respond(ModelRequest(params={"input": "hi", "tools": [{"type": "web_search"}]}))
    assert fake.request_count == 0


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one base_url"):
        ChatCompletionsModel("m", base_url=[])
    with pytest.raises(ValueError, match="'reasoning_content' or 'think_tags'"):
        ChatCompletionsModel("m", base_url="http://localhost:1/v1", reasoning_format="xml")  # type: ignore[arg-type]
