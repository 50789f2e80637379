from __future__ import annotations

import socket
import time
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gymhall._exceptions import ModelError
from gymhall._models.base import ModelRequest
from gymhall._models.registry import model_from_spec
from gymhall._models.responses import OpenAIResponsesModel
from gymhall.testing import Failure, FakeOpenAI, ToolCall, Turn, echo_policy, make_response, scripted, serve_in_thread


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(app)` -> the base URL (with /v1) of `app` served on a loopback port."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(serve_in_thread(app)) + "/v1"


async def test_tool_call_and_text_turns_parse_into_gymhall_items(serve: Any) -> None:
    turns = [Turn(tool_calls=[ToolCall("increment", {"by": 1}), ToolCall("increment", {"by": 2})]), Turn(text="3")]
    fake = FakeOpenAI(scripted(turns))
    async with OpenAIResponsesModel("m", base_url=serve(fake)) as model:
        first = await model.respond(ModelRequest(params={"input": "count"}))
        assert [(item.type, item.name, item.arguments) for item in first.output] == [
            ("function_call", "increment", '{"by":1}'),
            ("function_call", "increment", '{"by":2}'),
        ]
        outputs = [{"type": "function_call_output", "call_id": item.call_id, "output": "{}"} for item in first.output]
        # gymhall's items (pydantic models) go back into the next call's input as they are.
        items = [{"role": "user", "content": "count"}, *first.output, *outputs]
        second = await model.respond(ModelRequest(params={"input": items}))
    assert second.output_text == "3" and second.output[0].type == "message"
    assert second.usage is not None and second.usage.total_tokens > 0
    sent = fake.requests[-1].body["input"]
    assert sent[1] == {
        "id": first.output[0].id,
        "type": "function_call",
        "call_id": first.output[0].call_id,
        "name": "increment",
        "arguments": '{"by":1}',
        "status": "completed",
    }


async def test_extra_fields_such_as_token_ids_survive(serve: Any) -> None:
    body = make_response("hi", model="m")
    body["output"][0]["generation_token_ids"] = [1, 2, 3]

    async def responses(request: Request) -> JSONResponse:
        return JSONResponse(body)

    app = Starlette(routes=[Route("/v1/responses", responses, methods=["POST"])])
    async with OpenAIResponsesModel("m", base_url=serve(app)) as model:
        response = await model.respond(ModelRequest(params={"input": "hi"}))
    assert response.output[0].model_dump()["generation_token_ids"] == [1, 2, 3]


async def test_an_unusable_answer_is_a_model_error(serve: Any) -> None:
    async def responses(request: Request) -> JSONResponse:
        return JSONResponse({"id": "x", "output": "nope"})

    app = Starlette(routes=[Route("/v1/responses", responses, methods=["POST"])])
    url = serve(app)
    async with OpenAIResponsesModel("m", base_url=url) as model:
        with pytest.raises(ModelError, match="answered an invalid Response") as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert not caught.value.retryable and url in str(caught.value)


async def test_params_sampling_and_extra_body_precedence(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy)
    extra = {"temperature": 0.1, "top_k": 5}
    async with OpenAIResponsesModel(
        "m", base_url=serve(fake), sampling={"temperature": 1.0}, extra_body=extra
    ) as model:
        params = {"input": "hi", "temperature": 0.5, "top_p": 0.9, "stream": True, "model": "other"}
        await model.respond(ModelRequest(params=params))
    assert fake.requests[-1].body == {"input": "hi", "temperature": 1.0, "top_p": 0.9, "top_k": 5, "model": "m"}


async def test_without_a_model_name_the_server_is_asked(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy, model="served-model")
    async with OpenAIResponsesModel("", base_url=serve(fake)) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
        assert model.name == "served-model" and fake.requests[-1].model == "served-model"


async def test_rate_limits_are_retried(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy, fail_first=2, fail_status=429, retry_after=0.01)
    async with OpenAIResponsesModel("m", base_url=serve(fake), max_retries=3) as model:
        response = await model.respond(ModelRequest(params={"input": "hi"}))
    assert response.output_text == "hi" and fake.request_count == 3


async def test_retries_are_capped(serve: Any) -> None:
    fake = FakeOpenAI(lambda request: Failure(500, "the GPU caught fire", retry_after=0.01))
    url = serve(fake)
    async with OpenAIResponsesModel("m", base_url=url, max_retries=3) as model:
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    error = caught.value
    assert error.retryable and error.status_code == 500 and fake.request_count == 4
    assert url in str(error) and "the GPU caught fire" in str(error)


async def test_client_errors_are_not_retried(serve: Any) -> None:
    fake = FakeOpenAI(lambda request: Failure(400, "prompt too long"))
    async with OpenAIResponsesModel("m", base_url=serve(fake), max_retries=3) as model:
        with pytest.raises(ModelError, match="HTTP 400: prompt too long") as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert not caught.value.retryable and fake.request_count == 1


async def test_a_rollout_sticks_to_one_base_url(serve: Any) -> None:
    fakes = [FakeOpenAI(echo_policy), FakeOpenAI(echo_policy)]
    urls = [serve(fake) for fake in fakes]
    keys = [f"rollout-{i}" for i in range(12)]
    async with OpenAIResponsesModel("m", base_url=urls) as model:
        for _ in range(2):
            for key in keys:
                await model.respond(ModelRequest(params={"input": key}, session_key=key))
    for index, fake in enumerate(fakes):
        expected = [key for key in keys if zlib.crc32(key.encode()) % 2 == index]
        assert expected and [request.user_text() for request in fake.requests] == expected * 2


async def test_the_deadline_bounds_a_slow_backend(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy, delay_s=1.0)
    async with OpenAIResponsesModel("m", base_url=serve(fake), timeout_s=60, max_retries=3) as model:
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
    async with OpenAIResponsesModel("m", base_url=serve(fake), api_key=key) as model:
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert key not in str(caught.value) and "Incorrect API key provided" in str(caught.value)
    assert fake.requests[-1].headers["authorization"] == f"Bearer {key}"

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://user:password@127.0.0.1:{port}/v1"
    async with OpenAIResponsesModel("m", base_url=url, api_key=key, max_retries=0) as model:
        with pytest.raises(ModelError, match="cannot reach") as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert caught.value.retryable and key not in str(caught.value) and "password" not in str(caught.value)
    assert key not in repr(model)


async def test_the_api_key_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch, serve: Any) -> None:
    fake = FakeOpenAI(echo_policy)
    url = serve(fake)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    async with OpenAIResponsesModel("m", base_url=url) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
    monkeypatch.delenv("OPENAI_API_KEY")
    async with OpenAIResponsesModel("m", base_url=url) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
    assert [r.headers["authorization"] for r in fake.requests] == ["Bearer sk-from-env", "Bearer EMPTY"]


async def test_model_from_spec_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cases = {
        "openai:gpt-4.1-mini": ("gpt-4.1-mini", ["https://api.openai.com/v1"]),
        "http://localhost:8000/v1#Qwen/Qwen3-8B": ("Qwen/Qwen3-8B", ["http://localhost:8000/v1"]),
        "http://localhost:8000/v1/": ("", ["http://localhost:8000/v1"]),
        "http://a:1/v1,http://b:2/v1#m": ("m", ["http://a:1/v1", "http://b:2/v1"]),
    }
    for spec, (name, urls) in cases.items():
        model = model_from_spec(spec, sampling={"temperature": 0.0})
        assert isinstance(model, OpenAIResponsesModel), spec
        assert (model.name, model.base_urls, model.sampling) == (name, urls, {"temperature": 0.0})
        await model.aclose()
    assert model_from_spec("replay").name == "replay"


async def test_model_from_spec_chat_api() -> None:
    chat = pytest.importorskip("gymhall._models.chat")
    model = model_from_spec("http://localhost:8000/v1#m", api="chat")
    assert isinstance(model, chat.ChatCompletionsModel)
    await model.aclose()


@pytest.mark.parametrize("spec", ["gpt-4.1-mini", "openai:", "ftp://host/v1", "", "http://a/v1,ftp://b#m"])
def test_model_from_spec_refuses_unknown_specs(spec: str) -> None:
    with pytest.raises(ValueError, match="Use 'openai:<model>'.*'replay'"):
        model_from_spec(spec)


def test_model_from_spec_refuses_an_unknown_api() -> None:
    with pytest.raises(ValueError, match="'responses' or 'chat'"):
        model_from_spec("replay", api="completions")  # type: ignore[arg-type]


def test_base_url_is_required() -> None:
    with pytest.raises(ValueError, match="at least one base_url"):
        OpenAIResponsesModel("m", base_url=[])
