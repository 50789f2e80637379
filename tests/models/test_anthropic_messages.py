"""AnthropicMessagesModel over real loopback HTTP against FakeAnthropic; the fake checked with the anthropic SDK."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import anthropic
import pytest
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from pydantic import TypeAdapter

from gymhall import Agent
from gymhall.exceptions import ConfigError, ModelError
from gymhall.models.anthropic_messages import AnthropicMessagesModel
from gymhall.models.base import ModelRequest
from gymhall.models.fake_anthropic import MESSAGES_KEYS
from gymhall.models.spec_strings import model_from_spec
from gymhall.testing import (
    Failure,
    FakeAnthropic,
    FakeRequest,
    ToolCall,
    Turn,
    client_for,
    counter_policy,
    scripted,
    serve_in_thread,
)

COUNTER = Path(__file__).resolve().parents[2] / "examples" / "counter"
KEY = "sk-ant-test-0123456789"
CREATE_PARAMS = TypeAdapter(MessageCreateParamsNonStreaming)
SDK_KEYS = MessageCreateParamsNonStreaming.__required_keys__ | MessageCreateParamsNonStreaming.__optional_keys__
SAMPLING = {"temperature", "top_p", "top_k"}  # listed by the SDK before 2.x; sent only when a request sets them


def counter_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("anthropic_test_counter", COUNTER / "counter.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def first_row() -> dict[str, Any]:
    return dict(json.loads((COUNTER / "data" / "example.jsonl").read_text().splitlines()[0]))


def sent_bodies_are_valid(fake: FakeAnthropic) -> None:
    """Every body the backend sent is a create-params dict as the anthropic SDK types it."""
    for body in fake.bodies:
        assert set(body) <= SDK_KEYS | SAMPLING
        CREATE_PARAMS.validate_python(body)


def served(fake: FakeAnthropic, serve: Any, **kwargs: Any) -> AnthropicMessagesModel:
    kwargs.setdefault("api_key", KEY)
    return AnthropicMessagesModel("claude-test", base_url=serve(fake), **kwargs)


async def test_a_whole_counter_rollout_scores_one(serve: Any) -> None:
    fake = FakeAnthropic(counter_policy("increment", calls=2))
    row = first_row()  # starts at 10; two increments by 1 make 12
    async with served(fake, serve) as model:
        agent = Agent(client_for(counter_module().Counter()), model)
        line = await agent.run(row)
    assert line["status"] == "ok" and line["reward"] == 1.0
    assert [item["type"] for item in line["response"]["output"]][-1] == "message"
    assert fake.request_count == 3
    sent_bodies_are_valid(fake)
    last = fake.bodies[-1]
    assert [m["role"] for m in last["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    assert last["messages"][2]["content"][0]["type"] == "tool_result"
    assert last["tools"][0]["name"] == "increment" and "input_schema" in last["tools"][0]
    assert last["model"] == "claude-test" and last["max_tokens"] == 4096


async def test_tool_calls_thinking_and_results_round_trip(serve: Any) -> None:
    turns = [
        Turn(reasoning="two calls", tool_calls=[ToolCall("increment", {"by": 1}), ToolCall("increment", {"by": 2})]),
        Turn(text="3"),
    ]
    fake = FakeAnthropic(scripted(turns))
    async with served(fake, serve) as model:
        first = await model.respond(ModelRequest(params={"input": "count", "max_output_tokens": 64}))
        assert [item.type for item in first.output] == ["reasoning", "function_call", "function_call"]
        assert [item.arguments for item in first.output[1:]] == ['{"by":1}', '{"by":2}']
        assert first.usage is not None and first.usage.input_tokens > 0 and first.usage.output_tokens > 0
        kept = [item.model_dump(mode="json", exclude_unset=True) for item in first.output]  # as the agent keeps them
        outputs = [{"type": "function_call_output", "call_id": c["call_id"], "output": "ok"} for c in kept[1:]]
        # The fake refuses a thinking block whose signature it did not give: this passes only if it came back intact.
        second = await model.respond(
            ModelRequest(params={"input": [{"role": "user", "content": "count"}, *kept, *outputs]})
        )
    assert second.output_text == "3" and second.status == "completed"
    sent_bodies_are_valid(fake)
    messages = fake.bodies[-1]["messages"]
    assert messages[1]["content"][0] == {
        "type": "thinking",
        "thinking": "two calls",
        "signature": kept[0]["encrypted_content"],
    }
    assert [b["tool_use_id"] for b in messages[2]["content"]] == [c["call_id"] for c in kept[1:]]
    # The policy saw the conversation as Responses items, as the fake OpenAI server's policies do.
    assert fake.requests[-1].turn_index == 1 and fake.requests[-1].tool_outputs() == ["ok", "ok"]


async def test_a_forged_thinking_signature_is_refused_with_the_servers_reason(serve: Any) -> None:
    forged = {"type": "reasoning", "id": "rs_1", "summary": [], "content": [{"type": "reasoning_text", "text": "x"}]}
    items = [
        {"role": "user", "content": "hi"},
        {**forged, "encrypted_content": "forged"},
        {"role": "user", "content": "go"},
    ]
    fake = FakeAnthropic(scripted(["never"]))
    async with served(fake, serve) as model:
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": items}))
    assert caught.value.status_code == 400 and not caught.value.retryable
    assert "Invalid `signature` in `thinking` block" in str(caught.value)


@pytest.mark.parametrize("status", [429, 529, 500, 503])
async def test_overload_rate_limits_and_server_errors_are_retried(serve: Any, status: int) -> None:
    fake = FakeAnthropic(scripted(["done"]), fail_first=2, fail_status=status, retry_after=0.01)
    async with served(fake, serve, max_retries=3) as model:
        response = await model.respond(ModelRequest(params={"input": "hi"}))
    assert response.output_text == "done" and fake.request_count == 3


async def test_an_overload_that_outlasts_the_retries_is_a_retryable_error(serve: Any) -> None:
    fake = FakeAnthropic(scripted(["done"]), fail_first=10, retry_after=0.01)
    async with served(fake, serve, max_retries=2) as model:
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert caught.value.status_code == 529 and caught.value.retryable
    assert "HTTP 529 after 2 retries: Overloaded" in str(caught.value) and fake.request_count == 3


async def test_a_bad_request_is_not_retried_and_names_the_problem(serve: Any) -> None:
    fake = FakeAnthropic(lambda request: Failure(400, "max_tokens: 999999 > 64000, the maximum for claude-test"))
    async with served(fake, serve, max_retries=3) as model:
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": "hi", "max_output_tokens": 999999}))
    assert fake.request_count == 1
    assert caught.value.status_code == 400 and not caught.value.retryable
    message = str(caught.value)
    assert "HTTP 400" in message and "max_tokens: 999999 > 64000" in message and "127.0.0.1" in message


async def test_a_prompt_too_long_ends_the_episode_as_incomplete(serve: Any) -> None:
    fake = FakeAnthropic(lambda request: Failure(400, "prompt is too long: 210000 tokens > 200000 maximum"))
    async with served(fake, serve) as model:
        response = await model.respond(ModelRequest(params={"input": "hi"}))
    assert response.status == "incomplete" and response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens" and response.output == []


async def test_the_key_travels_in_x_api_key_and_never_in_errors_or_logs(
    serve: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-must-not-travel")

    def quoting(request: FakeRequest) -> Failure:  # some servers quote the key they refuse
        return Failure(400, f"key {request.headers.get('x-api-key')} has no access to claude-test")

    fake = FakeAnthropic(quoting, api_key=KEY)
    caplog.set_level(logging.DEBUG)
    async with AnthropicMessagesModel("claude-test", base_url=serve(fake)) as model:
        assert KEY not in repr(model)
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    headers = fake.requests[-1].headers
    assert headers["x-api-key"] == KEY and headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers and "sk-openai-must-not-travel" not in json.dumps(dict(headers))
    assert KEY not in str(caught.value) and "[redacted]" in str(caught.value)
    assert KEY not in caplog.text


async def test_a_refused_key_is_an_authentication_error_without_the_key(serve: Any) -> None:
    fake = FakeAnthropic(scripted(["never"]), api_key="sk-ant-the-right-one")
    async with served(fake, serve) as model:
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
        with pytest.raises(ConfigError) as refused:
            await model.preflight()
    assert caught.value.status_code == 401 and "invalid x-api-key" in str(caught.value)
    assert KEY not in str(caught.value) and fake.request_count == 0
    assert "refused the API key" in str(refused.value) and "ANTHROPIC_API_KEY" in str(refused.value)


async def test_preflight(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeAnthropic(scripted(["x"]))
    async with served(fake, serve) as model:
        await model.preflight(key_source="OPENAI_API_KEY, or policy_api_key in ./env.yaml")  # answers: no error
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    async with AnthropicMessagesModel("claude-x") as remote:
        with pytest.raises(ConfigError) as caught:
            await remote.preflight(key_source="OPENAI_API_KEY, or policy_api_key in ./env.yaml")
    assert "Fix: set ANTHROPIC_API_KEY, or policy_api_key in ./env.yaml" in str(caught.value)


async def test_no_model_name_asks_the_servers_model_list(serve: Any) -> None:
    fake = FakeAnthropic(scripted(["x"]), model="claude-listed")
    async with AnthropicMessagesModel("", base_url=serve(fake), api_key=KEY) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
    assert fake.bodies[-1]["model"] == "claude-listed"


async def test_sampling_pins_messages_parameters(serve: Any) -> None:
    fake = FakeAnthropic(scripted(["x"]))
    sampling = {"max_output_tokens": 256, "thinking": {"type": "adaptive"}}
    async with served(fake, serve, sampling=sampling) as model:
        await model.respond(ModelRequest(params={"input": "hi", "max_output_tokens": 9000, "temperature": 0.3}))
    body = fake.bodies[-1]
    assert (body["max_tokens"], body["thinking"], body["temperature"]) == (256, {"type": "adaptive"}, 0.3)
    sent_bodies_are_valid(fake)


async def test_the_anthropic_sdk_accepts_the_fakes_answers() -> None:
    fake = FakeAnthropic(scripted([Turn(reasoning="r", tool_calls=[ToolCall("increment", {"by": 1})]), "1"]))
    tool = {"name": "increment", "input_schema": {"type": "object", "properties": {"by": {"type": "integer"}}}}
    with serve_in_thread(fake) as url:
        client = anthropic.AsyncAnthropic(base_url=url, api_key=KEY, max_retries=0)
        messages: list[Any] = [{"role": "user", "content": "add one"}]
        first = await client.messages.create(model="claude-test", max_tokens=64, messages=messages, tools=[tool])
        assert first.stop_reason == "tool_use" and [b.type for b in first.content] == ["thinking", "tool_use"]
        call = first.content[1]
        assert call.type == "tool_use" and call.input == {"by": 1}
        messages += [
            first.to_param(),
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "1"}]},
        ]
        second = await client.messages.create(model="claude-test", max_tokens=64, messages=messages, tools=[tool])
        assert second.stop_reason == "end_turn" and second.content[0].type == "text" and second.content[0].text == "1"
        with pytest.raises(anthropic.BadRequestError) as caught:  # a tool_use left without its result
            await client.messages.create(
                model="claude-test", max_tokens=64, messages=[*messages[:2], {"role": "user", "content": "?"}]
            )
        models = await client.models.list()
        assert [m.id for m in models.data] == ["fake-claude"]
        await client.close()
    assert "without `tool_result` blocks" in str(caught.value)


def test_fake_accepts_the_sdks_keys() -> None:
    assert SDK_KEYS <= MESSAGES_KEYS


def test_spec_strings_pick_the_messages_backend() -> None:
    named = model_from_spec("anthropic:claude-sonnet-4-5", api_key=KEY)
    assert isinstance(named, AnthropicMessagesModel)
    assert (named.name, named.base_urls) == ("claude-sonnet-4-5", ["https://api.anthropic.com/v1"])
    served_url = model_from_spec("http://gpu1:8000/v1#m", api="messages", api_key=KEY)
    assert isinstance(served_url, AnthropicMessagesModel) and served_url.base_urls == ["http://gpu1:8000/v1"]
    with pytest.raises(ValueError, match="'messages' \\(Anthropic\\)"):
        model_from_spec("http://gpu1:8000/v1", api="grpc")
