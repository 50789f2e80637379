from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion
from openai.types.responses import Response as SDKResponse

from gymhall.testing import (
    Failure,
    FakeOpenAI,
    FakeRequest,
    ToolCall,
    Turn,
    counter_policy,
    echo_policy,
    scripted,
    serve_in_thread,
)

INCREMENT = {"type": "function", "name": "increment", "parameters": {"type": "object"}, "strict": False}


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(fake)` -> an `openai.AsyncOpenAI` client of `fake` served on a loopback port."""
    stack: list[Any] = []

    def start(fake: FakeOpenAI, **client_kwargs: Any) -> openai.AsyncOpenAI:
        server = serve_in_thread(fake)
        url = server.__enter__()
        stack.append(server)
        client_kwargs.setdefault("max_retries", 0)
        return openai.AsyncOpenAI(base_url=url + "/v1", api_key="test-key", **client_kwargs)

    yield start
    for server in reversed(stack):
        server.__exit__(None, None, None)


@pytest.fixture
async def asgi_client() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(fake: FakeOpenAI) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url="http://fake")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_responses_answers_parse_with_the_sdk(serve: Any) -> None:
    turns = [Turn(tool_calls=[ToolCall("increment", {"by": 2})], reasoning="Add two."), Turn(text="2")]
    client = serve(FakeOpenAI(scripted(turns)))

    raw = await client.responses.with_raw_response.create(model="m", input="count", tools=[INCREMENT])
    first = raw.parse()
    SDKResponse.model_validate(json.loads(raw.text))  # every required field, strictly validated
    assert first.object == "response" and first.status == "completed" and first.model == "m"
    assert [item.type for item in first.output] == ["reasoning", "function_call"]
    call = first.output[1]
    assert call.type == "function_call" and call.name == "increment" and json.loads(call.arguments) == {"by": 2}
    assert first.tools[0].type == "function" and first.usage is not None and first.usage.total_tokens > 0

    follow_up: list[Any] = [{"role": "user", "content": "count"}, *[item.model_dump() for item in first.output]]
    follow_up.append({"type": "function_call_output", "call_id": call.call_id, "output": '{"value": 2}'})
    second = await client.responses.create(model="m", input=follow_up)
    assert second.output_text == "2"


async def test_chat_completions_answers_parse_with_the_sdk(serve: Any) -> None:
    turns = [Turn(tool_calls=[ToolCall("increment", '{"by": 1}', call_id="call_1")]), Turn(text="1", reasoning="r")]
    client = serve(FakeOpenAI(scripted(turns)))
    messages: list[Any] = [{"role": "user", "content": "count"}]

    raw = await client.chat.completions.with_raw_response.create(model="m", messages=messages)
    first = raw.parse()
    ChatCompletion.model_validate(json.loads(raw.text))
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert choice.message.tool_calls is not None
    tool_call = choice.message.tool_calls[0]
    assert tool_call.id == "call_1" and tool_call.function.name == "increment"  # type: ignore[union-attr]

    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": "call_1", "content": "1"},
    ]
    second = await client.chat.completions.create(model="m", messages=messages)
    assert second.choices[0].message.content == "1" and second.choices[0].finish_reason == "stop"
    assert second.usage is not None and second.usage.total_tokens > 0


async def test_models_lists_the_fake_model(serve: Any) -> None:
    client = serve(FakeOpenAI(model="my-model"))
    page = await client.models.list()
    assert [model.id for model in page.data] == ["my-model"]


async def test_incomplete_turns(serve: Any) -> None:
    client = serve(FakeOpenAI(lambda request: Turn(text="cut", finish_reason="length")))
    response = await client.responses.create(model="m", input="hi")
    assert response.status == "incomplete" and response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    chat = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert chat.choices[0].finish_reason == "length"


async def test_a_script_that_runs_out_answers_400(serve: Any) -> None:
    client = serve(FakeOpenAI(scripted(["only"])))
    history: list[Any] = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "only"}]
    with pytest.raises(openai.BadRequestError, match="has 1 turns; this is model call 2"):
        await client.responses.create(model="m", input=history)


async def test_counter_policy_calls_then_answers_the_count(serve: Any) -> None:
    client = serve(FakeOpenAI(counter_policy(calls=3)))
    items: list[Any] = [{"role": "user", "content": "count to three"}]
    for value in (1, 2, 3):
        response = await client.responses.create(model="m", input=items)
        (call,) = response.output
        assert call.type == "function_call" and call.name == "increment" and json.loads(call.arguments) == {"by": 1}
        items += [
            call.model_dump(),
            {"type": "function_call_output", "call_id": call.call_id, "output": f'{{"value": {value}}}'},
        ]
    final = await client.responses.create(model="m", input=items)
    assert final.output_text == "3"


async def test_concurrent_conversations_do_not_interfere(serve: Any) -> None:
    client = serve(FakeOpenAI(counter_policy(calls=2)))

    async def conversation(start: int) -> str:
        items: list[Any] = [{"role": "user", "content": f"from {start}"}]
        for step in range(1, 3):
            response = await client.responses.create(model="m", input=items)
            call = response.output[0]
            assert call.type == "function_call"
            await asyncio.sleep(0)
            output = json.dumps({"value": start + step})
            items += [call.model_dump(), {"type": "function_call_output", "call_id": call.call_id, "output": output}]
        return (await client.responses.create(model="m", input=items)).output_text

    answers = await asyncio.gather(*(conversation(100 * i) for i in range(20)))
    assert answers == [str(100 * i + 2) for i in range(20)]


async def test_echo_and_async_policies(serve: Any) -> None:
    async def slow_echo(request: FakeRequest) -> Turn:
        await asyncio.sleep(0.001)
        return echo_policy(request)

    client = serve(FakeOpenAI(slow_echo))
    content = [{"type": "input_text", "text": "hello "}, {"type": "input_text", "text": "there"}]
    response = await client.responses.create(model="m", input=[{"role": "user", "content": content}])
    assert response.output_text == "hello there"


async def test_fail_first_then_the_sdk_retries_through(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy, fail_first=2, retry_after=0.01)
    client = serve(fake, max_retries=3)
    response = await client.responses.create(model="m", input="hi")
    assert response.output_text == "hi" and fake.request_count == 3


async def test_failures_are_openai_shaped(serve: Any) -> None:
    fake = FakeOpenAI(echo_policy, fail_first=1, fail_status=429, retry_after=2.5)
    client = serve(fake)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.responses.create(model="m", input="hi")
    assert caught.value.response.headers["retry-after"] == "2.5"
    assert caught.value.body == {
        "message": "injected failure 1 of 1",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    with pytest.raises(openai.InternalServerError):  # per request, by header
        await client.responses.create(model="m", input="hi", extra_headers={"x-fake-fail": "503"})
    assert (await client.responses.create(model="m", input="hi")).output_text == "hi"


async def test_a_policy_can_fail(serve: Any) -> None:
    client = serve(FakeOpenAI(lambda request: Failure(404, "no such model")))
    with pytest.raises(openai.NotFoundError, match="no such model"):
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])


async def test_a_broken_policy_is_named_in_the_answer(asgi_client: Any) -> None:
    answer = await asgi_client(FakeOpenAI(lambda request: 1 / 0)).post("/v1/responses", json={"input": "x"})
    assert answer.status_code == 500 and "ZeroDivisionError" in answer.json()["error"]["message"]


async def test_delay_makes_a_slow_backend(serve: Any) -> None:
    client = serve(FakeOpenAI(echo_policy, delay_s=0.5), timeout=0.1)
    with pytest.raises(openai.APITimeoutError):
        await client.responses.create(model="m", input="hi")
    fast = await client.responses.create(model="m", input="hi", extra_headers={"x-fake-delay": "0"})
    assert fast.output_text == "hi"


async def test_requests_are_recorded_and_bounded(asgi_client: Any) -> None:
    fake = FakeOpenAI(max_recorded=3)
    client = asgi_client(fake)
    for i in range(5):
        answer = await client.post("/v1/responses", json={"input": f"n{i}"})
        assert answer.status_code == 200
    assert fake.request_count == 5
    assert [request.user_text() for request in fake.requests] == ["n2", "n3", "n4"]
    fake.reset()
    assert fake.request_count == 0 and not fake.requests


async def test_bad_bodies_and_other_routes(asgi_client: Any) -> None:
    client = asgi_client(FakeOpenAI())
    bad = await client.post("/v1/chat/completions", content=b"{nope")
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    not_object = await client.post("/v1/responses", json=[1])
    assert not_object.status_code == 400
    assert (await client.get("/")).json() == {"status": "ok"}
    assert (await client.get("/v1/nothing")).status_code == 404


@pytest.mark.slow
def test_standalone_server_prints_its_url() -> None:
    command = [sys.executable, "-m", "gymhall.models.fake_openai", "--port", "0", "--policy", "counter", "--calls", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" on ")[1].split()[0]
        assert url.endswith("/v1")
        answer = httpx.post(url + "/responses", json={"input": "x"}, timeout=10)
        assert answer.json()["output"][0]["content"][0]["text"] == "0"
    finally:
        process.terminate()
        process.wait(10)


async def test_the_starlette_app_alone_serves_the_same_routes() -> None:
    fake = FakeOpenAI(scripted(["ok"]), fail_first=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url="http://fake") as client:
        failed = await client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
        assert failed.status_code == 429 and failed.headers["retry-after"] == "0"
        answer = await client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
        assert answer.json()["choices"][0]["message"]["content"] == "ok"
        assert fake.requests[-1].headers["content-type"] == "application/json"


async def test_with_an_api_key_a_missing_or_wrong_key_is_answered_401(serve: Any) -> None:
    client = serve(FakeOpenAI(api_key="sk-right"))
    with pytest.raises(openai.AuthenticationError, match="Incorrect API key provided"):
        await client.responses.create(model="m", input="hi")  # the fixture's client sends "test-key"
    with pytest.raises(openai.AuthenticationError):
        await client.models.list()
    answer = await serve(FakeOpenAI(api_key="test-key")).responses.create(model="m", input="hi")
    assert answer.output_text == "hi"
