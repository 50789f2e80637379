"""Responses items <-> Chat Completions messages: the item-level half of `gymhall.wire.conversion`.

Consecutive model-side items (reasoning, an assistant message, function calls) make one assistant
message, and one assistant message makes those items again; reasoning travels in vLLM's message
fields or in a `<think>` block; `arguments` strings are kept verbatim, valid JSON or not.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

import orjson
from pydantic import BaseModel

__all__ = [
    "AssistantTurn",
    "ReasoningFormat",
    "assistant_items",
    "chat_messages_to_items",
    "new_id",
    "plain",
    "responses_input_to_messages",
    "split_think_tags",
    "text_of",
]

ReasoningFormat: TypeAlias = Literal["reasoning_content", "think_tags"]
"""How reasoning travels in chat messages: vLLM's message fields, or `<think>` tags in the content."""

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


def new_id(prefix: str) -> str:
    """A fresh item or response id, as OpenAI shapes them: `resp_<hex>`, `msg_<hex>`, ..."""
    return f"{prefix}_{uuid.uuid4().hex}"


def plain(value: Any) -> Any:
    """A pydantic model (SDK types, gymhall items) as a JSON-ready dict; anything else unchanged."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value


def text_of(parts: Any, *kinds: str) -> str:
    """The text of string content, or of the content parts whose type is one of `kinds`."""
    if isinstance(parts, str):
        return parts
    return "".join(str(p.get("text", "")) for p in parts or () if isinstance(p, Mapping) and p.get("type") in kinds)


def split_think_tags(text: str) -> tuple[str | None, str]:
    """`(reasoning, answer)` of model text that may start with `<think>...</think>`; reasoning is None without.

    An unclosed block (generation cut off while thinking) is all reasoning. Whitespace around the
    reasoning and between the block and the answer is dropped.
    """
    stripped = text.lstrip()
    if stripped.startswith(_THINK_OPEN):
        reasoning, closed, answer = stripped[len(_THINK_OPEN) :].partition(_THINK_CLOSE)
        return reasoning.strip(), answer.lstrip() if closed else ""
    if _THINK_CLOSE in text:  # the chat template opened the block in the prompt
        reasoning, _, answer = text.partition(_THINK_CLOSE)
        return reasoning.strip(), answer.lstrip()
    return None, text


class AssistantTurn:
    """One assistant message being assembled from consecutive model-side Responses items."""

    _STAGES = {"reasoning": 0, "message": 1, "call": 2}

    def __init__(self) -> None:
        self.reasoning: list[str] = []
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: list[dict[str, Any]] = []
        self.stage = -1

    def starts_new(self, stage: str) -> bool:
        """Whether an item of `stage` belongs to the next model call (one call: reasoning, text, calls)."""
        rank = self._STAGES[stage]
        return self.stage > rank or (self.stage == rank and rank < 2)

    def add(self, item: Mapping[str, Any], where: str) -> None:
        kind = item.get("type") or "message"
        if kind == "reasoning":
            self.stage = 0
            text = text_of(item.get("content"), "reasoning_text")
            if not text:
                summary = item.get("summary") or ()
                text = "\n\n".join(str(s.get("text", "")) for s in summary if isinstance(s, Mapping))
            if text:
                self.reasoning.append(text)
        elif kind == "message":
            self.stage = 1
            content = item.get("content")
            self.text.append(text_of(content, "output_text", "input_text", "text"))
            if isinstance(content, list):
                self.refusal += [str(p.get("refusal", "")) for p in content if p.get("type") == "refusal"]
        else:
            self.stage = 2
            call_id, name = item.get("call_id"), item.get("name")
            if not isinstance(call_id, str) or not isinstance(name, str):
                raise ValueError(f"{where}: a {kind} item needs string 'call_id' and 'name'")
            if kind == "function_call":
                function = {"name": name, "arguments": _arguments(item.get("arguments"), where)}
                self.tool_calls.append({"id": call_id, "type": "function", "function": function})
            else:
                custom = {"name": name, "input": str(item.get("input", ""))}
                self.tool_calls.append({"id": call_id, "type": "custom", "custom": custom})

    def message(self, reasoning_format: ReasoningFormat) -> dict[str, Any]:
        text = "".join(self.text)
        reasoning = "\n\n".join(self.reasoning) if self.reasoning else None
        message: dict[str, Any] = {"role": "assistant"}
        if reasoning is not None and reasoning_format == "think_tags":
            text = f"{_THINK_OPEN}\n{reasoning}\n{_THINK_CLOSE}\n\n{text}"
        message["content"] = text if text or not self.tool_calls else None
        if reasoning is not None and reasoning_format == "reasoning_content":
            # vLLM reads `reasoning` since late 2025; older vLLM and SGLang read `reasoning_content`.
            message["reasoning"] = message["reasoning_content"] = reasoning
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        return message


def _arguments(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):  # lenient producers send parsed arguments
        return orjson.dumps(dict(value)).decode()
    raise ValueError(f"{where}: 'arguments' must be a JSON string, not {type(value).__name__}")


def _chat_part(part: Any, where: str) -> dict[str, Any]:
    part = plain(part)
    if isinstance(part, str):
        return {"type": "text", "text": part}
    kind = part.get("type") if isinstance(part, Mapping) else None
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": str(part.get("text", ""))}
    if kind == "input_image" and part.get("image_url"):
        image = {"url": part["image_url"], **({"detail": part["detail"]} if part.get("detail") else {})}
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        file = {k: part[k] for k in ("file_data", "file_id", "filename") if part.get(k) is not None}
        return {"type": "file", "file": file}
    if kind == "input_audio":
        return {"type": "input_audio", "input_audio": part.get("input_audio")}
    if kind == "input_video":  # NeMo Gym's video part; vLLM's chat form
        video = part.get("video_url") or part.get("video")
        return {"type": "video_url", "video_url": video if isinstance(video, Mapping) else {"url": video}}
    raise ValueError(f"{where}: content part {kind!r} has no Chat Completions equivalent")


def _chat_content(content: Any, where: str) -> Any:
    if content is None or isinstance(content, str):
        return content or ""
    parts = [_chat_part(part, f"{where}.content[{i}]") for i, part in enumerate(content)]
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def responses_input_to_messages(value: Any, *, reasoning_format: ReasoningFormat = "reasoning_content") -> list[Any]:
    """Chat messages for a Responses `input` (a string, or a list of items or SDK models)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    messages: list[dict[str, Any]] = []
    turn: AssistantTurn | None = None
    for index, raw in enumerate(value):
        item, where = plain(raw), f"input[{index}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where} must be an item object, not {type(item).__name__}")
        kind, role = item.get("type") or "message", item.get("role")
        stage = {"reasoning": "reasoning", "function_call": "call", "custom_tool_call": "call"}.get(kind)
        if kind == "message" and role == "assistant":
            stage = "message"
        if stage is not None:
            if turn is not None and turn.starts_new(stage):
                messages.append(turn.message(reasoning_format))
                turn = None
            turn = turn or AssistantTurn()
            turn.add(item, where)
            continue
        if turn is not None:
            messages.append(turn.message(reasoning_format))
            turn = None
        if kind == "message" and role in ("user", "system", "developer"):
            messages.append({"role": role, "content": _chat_content(item.get("content"), where)})
        elif kind in ("function_call_output", "custom_tool_call_output"):
            content = _chat_content(item.get("output"), where)
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": content})
        else:
            raise ValueError(f"{where}: items of type {kind!r} (role {role!r}) have no Chat Completions equivalent")
    if turn is not None:
        messages.append(turn.message(reasoning_format))
    return messages


def assistant_items(message: Mapping[str, Any], status: str, where: str) -> list[dict[str, Any]]:
    """Responses output items for one assistant message: reasoning, then the message, then calls."""
    content = message.get("content")
    text = content if content is None or isinstance(content, str) else text_of(content, "text", "output_text")
    reasoning = message.get("reasoning") or message.get("reasoning_content")
    if not isinstance(reasoning, str) or not reasoning:
        reasoning = None
        if text:
            reasoning, text = split_think_tags(text)
    items: list[dict[str, Any]] = []
    if reasoning:
        summary = [{"type": "summary_text", "text": reasoning}]
        items.append({"id": new_id("rs"), "type": "reasoning", "summary": summary, "status": status})
    parts: list[dict[str, Any]] = [{"type": "output_text", "text": text, "annotations": []}] if text else []
    if message.get("refusal"):
        parts.append({"type": "refusal", "refusal": message["refusal"]})
    calls = message.get("tool_calls") or []
    if parts or (text is not None and not items and not calls):  # an empty answer is still an answer
        parts = parts or [{"type": "output_text", "text": "", "annotations": []}]
        items.append({"id": new_id("msg"), "type": "message", "role": "assistant", "status": status, "content": parts})
    for index, call in enumerate(calls):
        call = plain(call)
        call_id = call.get("id") or new_id("call")
        if call.get("type") == "custom":
            custom = call.get("custom") or {}
            items.append({"type": "custom_tool_call", "id": new_id("ctc"), "call_id": call_id, **custom})
            continue
        function = call.get("function") or {}
        if not isinstance(function.get("name"), str):
            raise ValueError(f"{where}.tool_calls[{index}] has no function name")
        arguments = _arguments(function.get("arguments", ""), f"{where}.tool_calls[{index}]")
        fc = {"id": new_id("fc"), "type": "function_call", "call_id": call_id, "name": function["name"]}
        items.append({**fc, "arguments": arguments, "status": status})
    return items


def _responses_part(part: Any, where: str) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "input_text", "text": part}
    kind = part.get("type") if isinstance(part, Mapping) else None
    if kind == "text":
        return {"type": "input_text", "text": str(part.get("text", ""))}
    if kind == "image_url":
        image = part.get("image_url")
        image = image if isinstance(image, Mapping) else {"url": image}
        return {"type": "input_image", "image_url": image.get("url"), "detail": image.get("detail") or "auto"}
    if kind == "file":
        return {"type": "input_file", **(part.get("file") or {})}
    if kind == "input_audio":
        return {"type": "input_audio", "input_audio": part.get("input_audio")}
    if kind == "video_url":
        video = part.get("video_url")
        return {"type": "input_video", "video_url": video.get("url") if isinstance(video, Mapping) else video}
    raise ValueError(f"{where}: content part {kind!r} has no Responses equivalent")


def _responses_content(content: Any, where: str) -> Any:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise ValueError(f"{where}.content must be a string or a list of parts")
    return [_responses_part(part, f"{where}.content[{i}]") for i, part in enumerate(content)]


def chat_messages_to_items(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """Responses input items for chat messages (assistant reasoning fields and `<think>` blocks included)."""
    items: list[dict[str, Any]] = []
    for index, raw in enumerate(messages):
        message, where = plain(raw), f"messages[{index}]"
        role = message.get("role") if isinstance(message, Mapping) else None
        if role in ("user", "system", "developer"):
            items.append(
                {"type": "message", "role": role, "content": _responses_content(message.get("content"), where)}
            )
        elif role == "assistant":
            for item in assistant_items(message, "completed", where):
                if item["type"] == "message" and all(p["type"] == "output_text" for p in item["content"]):
                    # The easy form: input items need no ids, and OpenAI refuses ids it did not issue.
                    item = {"type": "message", "role": "assistant", "content": text_of(item["content"], "output_text")}
                elif item["type"] in ("function_call", "custom_tool_call"):
                    del item["id"]
                items.append(item)
        elif role == "tool":
            output = _responses_content(message.get("content"), where)
            items.append({"type": "function_call_output", "call_id": message.get("tool_call_id"), "output": output})
        else:
            raise ValueError(f"{where}: role {role!r} is not supported (use user, system, developer, assistant, tool)")
    return items
