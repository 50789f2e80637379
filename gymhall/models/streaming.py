"""A finished answer as the server-sent events of a streaming one (`"stream": true`), for the model server.

gymhall's model server asks its model for a whole answer and then sends it as the events an
OpenAI-compatible streaming server sends, so clients that only stream (agent SDKs, UIs, NeMo Gym
0.7's streaming paths) can use it: the Responses API's `response.created` ... `response.completed`
(each text as one delta, each function call's arguments as one delta), and Chat Completions'
`chat.completion.chunk`s ending in `data: [DONE]`, shaped as the OpenAI SDK's event types (its
streaming helpers read them in the tests). Nothing arrives earlier than the whole answer would:
this is compatibility, not lower latency.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from gymhall.wire.responses import Response

__all__ = ["chat_events", "response_events"]


def _sse(event: dict[str, Any]) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def response_events(response: Response) -> Iterator[bytes]:
    """The Responses API's stream of `response`: created, in progress, each item's events, completed."""
    whole: dict[str, Any] = orjson.loads(response.__pydantic_serializer__.to_json(response))
    number = iter(range(1 << 30))
    pending = {**whole, "status": "in_progress", "output": []}
    for kind in ("response.created", "response.in_progress"):
        yield _sse({"type": kind, "response": pending, "sequence_number": next(number)})
    for index, item in enumerate(whole.get("output") or []):
        for event in _item_events(item, index):
            yield _sse({**event, "sequence_number": next(number)})
    yield _sse({"type": "response.completed", "response": whole, "sequence_number": next(number)})


def _item_events(item: dict[str, Any], index: int) -> Iterator[dict[str, Any]]:
    kind = item.get("type")
    if kind == "message":
        opening = {**item, "status": "in_progress", "content": []}
        yield {"type": "response.output_item.added", "item": opening, "output_index": index}
        for part_index, part in enumerate(item.get("content") or []):
            ids = {"item_id": item["id"], "output_index": index, "content_index": part_index}
            if part.get("type") == "output_text":
                text = part.get("text", "")
                yield {"type": "response.content_part.added", "part": {**part, "text": ""}, **ids}
                yield {"type": "response.output_text.delta", "delta": text, "logprobs": [], **ids}
                yield {"type": "response.output_text.done", "text": text, "logprobs": [], **ids}
            yield {"type": "response.content_part.done", "part": part, **ids}
    elif kind == "function_call":
        opening = {**item, "status": "in_progress", "arguments": ""}
        yield {"type": "response.output_item.added", "item": opening, "output_index": index}
        ids = {"item_id": item.get("id") or item["call_id"], "output_index": index}
        yield {"type": "response.function_call_arguments.delta", "delta": item["arguments"], **ids}
        yield {"type": "response.function_call_arguments.done", "arguments": item["arguments"], **ids}
    else:  # reasoning and other items arrive whole
        yield {"type": "response.output_item.added", "item": item, "output_index": index}
    yield {"type": "response.output_item.done", "item": item, "output_index": index}


def chat_events(completion: Mapping[str, Any]) -> Iterator[bytes]:
    """Chat Completions' stream of `completion` (a `chat.completion` object): one chunk per part, then [DONE]."""
    head = {key: completion[key] for key in ("id", "created", "model") if key in completion}
    head["object"] = "chat.completion.chunk"
    for choice in completion.get("choices") or []:
        message = choice.get("message") or {}
        base = {"index": choice.get("index", 0), "logprobs": None, "finish_reason": None}
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if message.get("reasoning_content"):
            deltas.append({"reasoning_content": message["reasoning_content"]})
        if message.get("content"):
            deltas.append({"content": message["content"]})
        for position, call in enumerate(message.get("tool_calls") or []):
            deltas.append({"tool_calls": [{"index": position, **call}]})
        for delta in deltas:
            yield _chat_chunk({**head, "choices": [{**base, "delta": delta}]})
        last = {**base, "delta": {}, "finish_reason": choice.get("finish_reason") or "stop"}
        yield _chat_chunk({**head, "choices": [last]})
    if completion.get("usage"):
        yield _chat_chunk({**head, "choices": [], "usage": completion["usage"]})
    yield b"data: [DONE]\n\n"


def _chat_chunk(chunk: Mapping[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"
