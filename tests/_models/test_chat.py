from __future__ import annotations

import json
import socket
import time
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gymhall._exceptions import ModelError
from gymhall._models.base import ModelRequest
from gymhall._models.chat import ChatCompletionsModel
from gymhall.testing import Failure, FakeOpenAI, ToolCall, Turn, echo_policy, scripted, serve_in_thread

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(app)` -> the base URL (with /v1) of `app` served on a loopback port."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(serve_in_thread(app)) + "/v1"


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


async def test_without_a_model_name_the_server_is_asked(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy, model="served-model")
    async with ChatCompletionsModel("", base_url=serve(fake)) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
        assert model.name == "served-model" and fake.requests[-1].model == "served-model"


async def test_rate_limits_are_retried(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy, fail_first=2, fail_status=429, retry_after=0.01)
    async with ChatCompletionsModel("m", base_url=serve(fake), max_retries=3) as model:
        response = await model.respond(ModelRequest(params={"input": "hi"}))
    assert response.output_text == "hi" and fake.request_count == 3


async def test_retries_are_capped(serve: Any) -> None:
    fake = FakeOpenAI(lambda request: Failure(500, "the GPU caught fire", retry_after=0.01))
    url = serve(fake)
    async with ChatCompletionsModel("m", base_url=url, max_retries=2) as model:
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    error = caught.value
    assert error.retryable and error.status_code == 500 and fake.request_count == 3
    assert url in str(error) and "HTTP 500" in str(error) and "the GPU caught fire" in str(error)


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


async def test_other_client_errors_are_model_errors_and_not_retried(serve: Any) -> None:
    fake = FakeOpenAI(lambda request: Failure(400, "temperature must be at most 2"))
    async with ChatCompletionsModel("m", base_url=serve(fake), max_retries=3) as model:
        with pytest.raises(ModelError, match="HTTP 400: temperature must be at most 2") as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert not caught.value.retryable and fake.request_count == 1


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


async def test_a_rollout_sticks_to_one_base_url(serve: Any) -> None:
    fakes = [FakeOpenAI(echo_policy), FakeOpenAI(echo_policy)]
    urls = [serve(fake) for fake in fakes]
    keys = [f"rollout-{i}" for i in range(12)]
    async with ChatCompletionsModel("m", base_url=urls) as model:
        for _ in range(2):
            for key in keys:
                await model.respond(ModelRequest(params={"input": key}, session_key=key))
    for index, fake in enumerate(fakes):
        expected = [key for key in keys if zlib.crc32(key.encode()) % 2 == index]
        assert expected and [request.user_text() for request in fake.requests] == expected * 2


async def test_the_deadline_bounds_a_slow_backend(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy, delay_s=1.0)
    async with ChatCompletionsModel("m", base_url=serve(fake), timeout_s=60, max_retries=3) as model:
        started = time.monotonic()
        with pytest.raises(ModelError, match="did not answer in time") as caught:
            await model.respond(ModelRequest(params={"input": "hi"}, deadline=time.monotonic() + 0.2))
        assert time.monotonic() - started < 0.6 and caught.value.retryable
        with pytest.raises(ModelError):  # a deadline already passed: nothing is sent
            await model.respond(ModelRequest(params={"input": "hi"}, deadline=time.monotonic() - 1))
    assert fake.request_count == 1


async def test_the_api_key_never_appears_in_errors(serve: Any) -> None:
    key = "sk-test-0123456789abcdef"
    fake = FakeOpenAI(lambda request: Failure(401, f"Incorrect API key provided: {key}."))
    async with ChatCompletionsModel("m", base_url=serve(fake), api_key=key) as model:
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert key not in str(caught.value) and "Incorrect API key provided" in str(caught.value)
    assert fake.requests[-1].headers["authorization"] == f"Bearer {key}"

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://user:password@127.0.0.1:{port}/v1"
    async with ChatCompletionsModel("m", base_url=url, api_key=key, max_retries=0) as model:
        with pytest.raises(ModelError, match="cannot reach") as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert caught.value.retryable and key not in str(caught.value) and "password" not in str(caught.value)
    assert key not in repr(model) and "password" not in repr(model)


async def test_the_api_key_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch, serve: Any) -> None:
    fake = FakeOpenAI(echo_policy)
    url = serve(fake)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    async with ChatCompletionsModel("m", base_url=url) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
    monkeypatch.delenv("OPENAI_API_KEY")
    async with ChatCompletionsModel("m", base_url=url) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
    assert [r.headers["authorization"] for r in fake.requests] == ["Bearer sk-from-env", "Bearer EMPTY"]


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one base_url"):
        ChatCompletionsModel("m", base_url=[])
    with pytest.raises(ValueError, match="'reasoning_content' or 'think_tags'"):
        ChatCompletionsModel("m", base_url="http://localhost:1/v1", reasoning_format="xml")  # type: ignore[arg-type]
