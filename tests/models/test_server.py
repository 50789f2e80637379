from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest

from gymhall.exceptions import ModelError
from gymhall.models.base import Model, ModelRequest
from gymhall.models.openai_responses import OpenAIResponsesModel
from gymhall.models.server import build_model_app
from gymhall.testing import (
    Failure,
    FakeOpenAI,
    FakeRequest,
    ToolCall,
    Turn,
    echo_policy,
    make_response,
    serve_in_thread,
)
from gymhall.wire.responses import Response


class TinyModel(Model):
    """Answers "echo: <input>", or raises `error`; records every request."""

    name = "tiny"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.requests: list[ModelRequest] = []
        self.closed = False

    async def respond(self, request: ModelRequest) -> Response:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return Response.model_validate(make_response(f"echo: {_last_text(request.params['input'])}", model=self.name))

    async def aclose(self) -> None:
        self.closed = True


def _last_text(value: Any) -> str:
    """The text of a string input, or of the last input message (string or parts)."""
    if isinstance(value, str):
        return value
    content = value[-1]["content"]
    return content if isinstance(content, str) else "".join(part["text"] for part in content)


@pytest.fixture
async def client_of() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(model: Model, **kwargs: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=build_model_app(model, **kwargs))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://model"))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


async def test_responses_relays_to_the_model(client_of: Any) -> None:
    model = TinyModel()
    client = client_of(model)
    answer = await client.post("/v1/responses", json={"input": "hi", "temperature": 0.3, "custom": 1})
    assert answer.status_code == 200
    response = Response.model_validate_json(answer.content)
    assert response.output_text == "echo: hi" and response.model == "tiny"
    assert model.requests[0].params == {"input": "hi", "temperature": 0.3, "custom": 1}  # unknown keys pass
    assert (await client.get("/")).json() == {"status": "ok", "model": "tiny"}
    listed = (await client.get("/v1/models")).json()
    assert listed == {"object": "list", "data": [{"id": "tiny", "object": "model", "owned_by": "gymhall"}]}


@pytest.mark.parametrize(
    ("headers", "cookies", "expected"),
    [
        ({"x-gymhall-session": "from-header"}, {"session": "from-cookie"}, "from-header"),
        ({}, {"session": "from-cookie"}, "from-cookie"),
        ({}, {"gymhall-session-counter": "gymhall-cookie"}, "gymhall-cookie"),
        ({}, {}, ""),
    ],
)
async def test_the_session_becomes_the_session_key(
    client_of: Any, headers: dict[str, str], cookies: dict[str, str], expected: str
) -> None:
    model = TinyModel()
    client = client_of(model)
    client.cookies.update(cookies)
    await client.post("/v1/responses", json={"input": "hi"}, headers=headers)
    assert model.requests[0].session_key == expected


async def test_model_errors_are_openai_shaped_502s(client_of: Any) -> None:
    retryable = await client_of(TinyModel(ModelError("upstream overloaded", retryable=True, status_code=503))).post(
        "/v1/responses", json={"input": "hi"}
    )
    assert retryable.status_code == 502 and "x-should-retry" not in retryable.headers
    assert retryable.json() == {
        "error": {"message": "upstream overloaded", "type": "model_error", "param": None, "code": 503}
    }
    final = await client_of(TinyModel(ModelError("prompt too long", status_code=400))).post(
        "/v1/responses", json={"input": "hi"}
    )
    assert final.status_code == 502 and final.headers["x-should-retry"] == "false"

    crash = await client_of(TinyModel(RuntimeError("bug"))).post("/v1/responses", json={"input": "hi"})
    assert crash.status_code == 500 and crash.json()["error"]["type"] == "server_error"
    assert "bug" not in crash.text  # internals stay in the log


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object, not list"),
        (b'{"temperature": 1}', 422, "input: Field required"),
        (b'{"input": 5}', 422, "input"),
        (b'{"input": "hi", "max_output_tokens": "many"}', 422, "max_output_tokens"),
    ],
)
async def test_bad_bodies_are_refused_naming_the_field(client_of: Any, body: bytes, status: int, needle: str) -> None:
    model = TinyModel()
    answer = await client_of(model).post("/v1/responses", content=body)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert needle in error["message"] and error["type"] == "invalid_request_error"
    assert not model.requests


async def test_bodies_over_the_limit_are_refused(client_of: Any) -> None:
    answer = await client_of(TinyModel(), max_body_bytes=100).post("/v1/responses", json={"input": "x" * 200})
    assert answer.status_code == 413 and "at most 100" in answer.json()["error"]["message"]


async def test_the_openai_sdk_can_call_the_model_server() -> None:
    model = TinyModel()
    with serve_in_thread(build_model_app(model)) as url:
        async with openai.AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0) as client:
            response = await client.responses.create(
                model="tiny", input="hello", extra_headers={"x-gymhall-session": "rollout-1"}
            )
            assert response.output_text == "echo: hello"
            model.error = ModelError("backend down", retryable=True)
            with pytest.raises(openai.APIStatusError, match="backend down") as caught:
                await client.responses.create(model="tiny", input="hello")
            assert caught.value.status_code == 502
    assert model.requests[0].session_key == "rollout-1"
    assert model.closed  # the lifespan closed the model


async def test_a_model_server_in_front_of_a_fake_backend() -> None:
    def policy(request: FakeRequest) -> Turn | Failure:
        return Failure(503, "backend busy") if request.user_text() == "fail" else echo_policy(request)

    with serve_in_thread(FakeOpenAI(policy)) as backend:
        model = OpenAIResponsesModel("fake-model", base_url=backend + "/v1", max_retries=0)
        with serve_in_thread(build_model_app(model)) as url:
            async with openai.AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0) as client:
                response = await client.responses.create(model="ignored", input="relayed")
                assert response.output_text == "relayed" and response.model == "fake-model"
                with pytest.raises(openai.APIStatusError) as caught:
                    await client.responses.create(model="m", input="fail")
    assert (
        caught.value.status_code == 502
        and "HTTP 503" in caught.value.message
        and "backend busy" in caught.value.message
    )


async def test_chat_completions(client_of: Any) -> None:
    client = client_of(TinyModel())
    answer = await client.post(
        "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    )
    if importlib.util.find_spec("gymhall.wire.conversion") is None:
        assert answer.status_code == 501 and "gymhall.wire.conversion" in answer.json()["error"]["message"]
        return
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == "echo: hi"


class UsageModel(TinyModel):
    """Answers with `usage` as a backend wrote it (vLLM leaves the details out; NeMo Gym 0.7 may send nulls)."""

    def __init__(self, usage: dict[str, Any]) -> None:
        super().__init__()
        self.usage = usage

    async def respond(self, request: ModelRequest) -> Response:
        return Response.model_validate(make_response("ok", model=self.name) | {"usage": self.usage})


@pytest.mark.parametrize(
    "usage",
    [
        {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
        {
            "input_tokens": 3,
            "input_tokens_details": {"cached_tokens": None},
            "output_tokens": 2,
            "output_tokens_details": {"reasoning_tokens": None},
            "total_tokens": 5,
        },
    ],
)
async def test_answers_validate_as_the_openai_sdks_response(client_of: Any, usage: dict[str, Any]) -> None:
    from openai.types.responses import Response as SDKResponse

    answer = await client_of(UsageModel(usage)).post("/v1/responses", json={"input": "hi"})
    assert answer.status_code == 200
    sent = SDKResponse.model_validate_json(answer.content)  # strictly: every usage detail present, as ints
    assert sent.usage is not None and sent.usage.input_tokens == 3
    assert sent.usage.input_tokens_details.cached_tokens == 0 and sent.usage.output_tokens_details.reasoning_tokens == 0


async def test_the_seven_nemo_gym_07_params_are_accepted_as_null(client_of: Any) -> None:
    new_keys = ("context_management", "conversation", "moderation", "prompt_cache_key")
    new_keys += ("prompt_cache_retention", "safety_identifier", "stream_options")
    answer = await client_of(TinyModel()).post("/v1/responses", json={"input": "hi"} | dict.fromkeys(new_keys))
    assert answer.status_code == 200, answer.text


# Streaming: the whole answer as the events the OpenAI SDK's streaming helpers read, over real HTTP.

STREAMED_TURN = Turn(text="Adding two.", reasoning="The tool adds.", tool_calls=[ToolCall("increment", {"by": 2})])


def test_a_streamed_responses_answer_is_the_non_streamed_one_event_by_event() -> None:
    from gymhall.models.fake import FakeModel

    app = build_model_app(FakeModel(lambda request: STREAMED_TURN, model="m"))
    with serve_in_thread(app) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="none")
        whole = client.responses.create(model="m", input="add two")
        with client.responses.stream(model="m", input="add two") as stream:
            events = [event.type for event in stream]
            final = stream.get_final_response()
        deltas = [event for event in client.responses.create(model="m", input="add two", stream=True)]
    assert events[:2] == ["response.created", "response.in_progress"] and events[-1] == "response.completed"
    assert "response.output_text.delta" in events and "response.function_call_arguments.done" in events
    assert final.output_text == whole.output_text == "Adding two."
    assert [item.type for item in final.output] == [item.type for item in whole.output]
    call = next(item for item in final.output if item.type == "function_call")
    assert (call.name, call.arguments) == ("increment", '{"by":2}')
    assert [event.sequence_number for event in deltas] == list(range(len(deltas)))


def test_a_streamed_chat_completion_accumulates_to_the_non_streamed_one() -> None:
    from gymhall.models.fake import FakeModel

    app = build_model_app(FakeModel(lambda request: STREAMED_TURN, model="m"))
    with serve_in_thread(app) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="none")
        messages: Any = [{"role": "user", "content": "add two"}]
        whole = client.chat.completions.create(model="m", messages=messages)
        chunks = list(client.chat.completions.create(model="m", messages=messages, stream=True))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    calls = [call for chunk in chunks if chunk.choices for call in chunk.choices[0].delta.tool_calls or []]
    finish = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert text == whole.choices[0].message.content
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        (c.function.name, c.function.arguments) for c in whole.choices[0].message.tool_calls or []
    ]
    assert finish == [whole.choices[0].finish_reason]
