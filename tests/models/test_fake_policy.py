"""gymhall.models.fake_policy: what a policy reads from a request, and the stock policies' answers."""

from __future__ import annotations

from typing import Any

from gymhall.models.fake_policy import FakeRequest, Turn, counter_policy


async def test_counter_policy_in_chat_reads_count_or_value() -> None:
    policy = counter_policy(tool="add", calls=1)
    base: list[Any] = [{"role": "user", "content": "go"}, {"role": "assistant", "content": None}]
    for output, answer in (('{"count": 7}', "7"), ('{"value": 4}', "4"), ("12", "12"), ("not json", "not json")):
        request = FakeRequest({"messages": [*base, {"role": "tool", "content": output}]}, "chat")
        assert policy(request) == Turn(text=answer)
    first = policy(FakeRequest({"messages": base[:1]}, "chat"))
    assert isinstance(first, Turn) and first.tool_calls[0].name == "add"


def test_fake_request_helpers() -> None:
    items = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"type": "reasoning", "id": "rs", "summary": []},
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "b", "name": "g", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "a", "output": "A"},
        {"type": "function_call_output", "call_id": "b", "output": "B"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "so"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "second"}]},
    ]
    increment = {"type": "function", "name": "increment", "parameters": {"type": "object"}, "strict": False}
    tools = [increment, {"type": "function", "function": {"name": "chat_style"}}]
    request = FakeRequest({"input": items, "tools": tools, "model": "m"}, "responses")
    assert request.turn_index == 2  # reasoning + two calls is one model call; the message another
    assert request.tool_outputs() == ["A", "B"] and request.last_tool_output() == "B"
    assert request.user_text() == "second" and request.model == "m"
    assert request.tool_names() == ["increment", "chat_style"]

    fresh = FakeRequest({"input": "hi"}, "responses")
    assert fresh.turn_index == 0 and fresh.user_text() == "hi" and fresh.last_tool_output() is None

    chat = FakeRequest({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}, "chat")
    assert chat.turn_index == 1 and chat.tool_outputs() == []
