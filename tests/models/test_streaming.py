"""Streaming (`"stream": true`) when the backend is Anthropic's Messages API: `gymhall serve-model --api messages`
run as a real process over a `FakeAnthropic` on loopback, read with the OpenAI SDK's streaming helpers.

The model server asks its backend for the whole answer and renders it as events, so the Messages backend
never streams itself: the fake must see no `stream` key, and what the helpers accumulate must equal the
non-streamed answer, thinking signature included (the fake refuses a signature it did not give).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gymhall.testing import FakeAnthropic, ToolCall, Turn, scripted, serve_in_thread

pytestmark = pytest.mark.slow

FIRST = Turn(text="Adding two.", reasoning="The tool adds.", tool_calls=[ToolCall("increment", {"by": 2})])
SECOND = Turn(text="2")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeAnthropic, str]]:
    """A FakeAnthropic in a thread, and `gymhall serve-model --api messages` over it in a child process."""
    fake = FakeAnthropic(scripted([FIRST, SECOND]))
    with serve_in_thread(fake) as upstream:
        port = _free_port()
        command = [sys.executable, "-m", "gymhall", "serve-model", "--api", "messages", "--port", str(port)]
        command += ["--model", f"{upstream}/v1#claude-test"]
        env = {key: value for key, value in os.environ.items() if key != "ANTHROPIC_API_KEY"}
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert child.poll() is None, child.communicate()[0]
                try:
                    if httpx.get(url + "/", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "serve-model did not answer GET / within 30 s"
                time.sleep(0.1)
            yield fake, url + "/v1"
        finally:
            child.terminate()
            child.wait(timeout=10)


def _kept(items: list[Any]) -> list[dict[str, Any]]:
    """Output items as an agent sends them back."""
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


def test_a_streamed_responses_answer_from_messages_equals_the_whole_one(served: tuple[FakeAnthropic, str]) -> None:
    fake, url = served
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
    whole = client.responses.create(model="claude-test", input="add two")
    with client.responses.stream(model="claude-test", input="add two") as stream:
        events = [event.type for event in stream]
        final = stream.get_final_response()
    assert events[:2] == ["response.created", "response.in_progress"] and events[-1] == "response.completed"
    assert "response.output_text.delta" in events and "response.function_call_arguments.delta" in events
    assert (
        [item.type for item in final.output]
        == [item.type for item in whole.output]
        == [
            "reasoning",
            "message",
            "function_call",
        ]
    )
    assert final.output_text == whole.output_text == "Adding two."
    call = final.output[2]
    assert call.type == "function_call" and (call.name, call.arguments) == ("increment", '{"by":2}')
    thinking = final.output[0]
    assert thinking.type == "reasoning" and thinking.encrypted_content
    assert final.usage is not None and final.usage.input_tokens > 0
    assert all("stream" not in body for body in fake.bodies)  # the backend asked for whole answers

    # The streamed items go back as the next turn's input: the fake accepts the thinking signature only intact.
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "2"}
    history: Any = [{"role": "user", "content": "add two"}, *_kept(final.output), output]
    with client.responses.stream(model="claude-test", input=history) as stream:
        second = stream.get_final_response()
    assert second.output_text == "2" and second.status == "completed"
    sent = fake.bodies[-1]["messages"][1]["content"][0]
    assert sent == {"type": "thinking", "thinking": "The tool adds.", "signature": thinking.encrypted_content}


def test_a_streamed_chat_completion_from_messages_accumulates_to_the_whole_one(
    served: tuple[FakeAnthropic, str],
) -> None:
    fake, url = served
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
    messages: Any = [{"role": "user", "content": "add two"}]
    whole = client.chat.completions.create(model="claude-test", messages=messages)
    chunks = list(client.chat.completions.create(model="claude-test", messages=messages, stream=True))
    with client.chat.completions.stream(model="claude-test", messages=messages) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    calls = [call for chunk in chunks if chunk.choices for call in chunk.choices[0].delta.tool_calls or []]
    finish = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert text == whole.choices[0].message.content == final.choices[0].message.content == "Adding two."
    expected = [(c.function.name, c.function.arguments) for c in whole.choices[0].message.tool_calls or []]
    assert expected == [("increment", '{"by":2}')]
    assert [(c.function.name, c.function.arguments) for c in calls] == expected
    assert [(c.function.name, c.function.arguments) for c in final.choices[0].message.tool_calls or []] == expected
    assert finish == [whole.choices[0].finish_reason] == ["tool_calls"]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == whole.usage.total_tokens  # type: ignore[union-attr]
    assert all("stream" not in body for body in fake.bodies)
