from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gymhall.exceptions import ModelError
from gymhall.models.base import ModelRequest
from gymhall.models.openai_responses import OpenAIResponsesModel
from gymhall.models.spec_strings import model_from_spec
from gymhall.testing import FakeOpenAI, ToolCall, Turn, echo_policy, make_response, scripted


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
    chat = pytest.importorskip("gymhall.models.chat_completions")
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
