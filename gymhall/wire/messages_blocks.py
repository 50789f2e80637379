"""Responses items <-> Anthropic Messages turns: the item-level half of `gymhall.wire.messages_conversion`.

The Messages API has two roles. Model-side items (reasoning, assistant messages, function calls) become
blocks of an `assistant` turn; user messages and tool results become blocks of a `user` turn, and
consecutive items of one role share one turn (the API wants tool results right after the turn that
called the tools, first in their user turn). Block by block:

- `function_call` <-> `tool_use` (call_id <-> id; `arguments`, a JSON object string <-> `input`, an object);
- `function_call_output` <-> `tool_result` (call_id <-> tool_use_id; text, or text and image blocks);
- `reasoning` <-> `thinking` when it has text and a signature (kept in `encrypted_content`), or
  `redacted_thinking` when it has only `encrypted_content`; reasoning with no signature (another
  model's) is dropped, since the API refuses thinking blocks it did not sign;
- `input_image` <-> `image` (a data URL <-> a base64 source, an http(s) URL <-> a url source), a PDF
  `input_file` <-> `document`.

System and developer messages have no turn: `messages_conversion` moves their text to `system`.
Malformed input raises `ValueError` naming the item and the problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from gymhall.wire.chat_messages import plain, text_of

__all__ = ["Turns", "assistant_block_items", "items_to_turns", "turns_to_items"]

_MODEL_SIDE = {"reasoning", "function_call"}


class Turns:
    """Messages turns being built: blocks appended to the last turn while its role stays the same."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.system: list[str] = []

    def add(self, role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if self.messages and self.messages[-1]["role"] == role:
            self.messages[-1]["content"].extend(blocks)
        else:
            self.messages.append({"role": role, "content": blocks})


def _data_url(url: str, where: str) -> tuple[str, str]:
    """`(media_type, base64 data)` of a `data:<type>;base64,<data>` URL."""
    head, comma, data = url.partition(",")
    media_type = head.removeprefix("data:").removesuffix(";base64")
    if not comma or not head.endswith(";base64") or not media_type:
        raise ValueError(f"{where}: a data URL must read 'data:<media type>;base64,<data>'")
    return media_type, data


def _block(part: Any, where: str) -> dict[str, Any]:
    """A Messages content block for one Responses content part."""
    part = plain(part)
    if isinstance(part, str):
        return {"type": "text", "text": part}
    kind = part.get("type") if isinstance(part, Mapping) else None
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": str(part.get("text", ""))}
    if kind == "refusal":
        return {"type": "text", "text": str(part.get("refusal", ""))}
    if kind == "input_image":
        url = part.get("image_url")
        if isinstance(url, str) and url.startswith("data:"):
            media_type, data = _data_url(url, where)
            return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return {"type": "image", "source": {"type": "url", "url": url}}
        raise ValueError(f"{where}: an image needs an 'image_url' (data: or http(s) URL); file ids are OpenAI's")
    if kind == "input_file":
        data_url = part.get("file_data")
        if isinstance(data_url, str) and data_url.startswith("data:application/pdf"):
            media_type, data = _data_url(data_url, where)
            return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
        raise ValueError(f"{where}: only PDF files given as 'file_data' data URLs can travel as Messages documents")
    raise ValueError(f"{where}: content part {kind!r} has no Messages equivalent")


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise ValueError(f"{where}.content must be a string or a list of parts")
    return [_block(part, f"{where}.content[{i}]") for i, part in enumerate(content)]


def _tool_input(arguments: Any, where: str) -> dict[str, Any]:
    if isinstance(arguments, Mapping):
        return dict(arguments)
    try:
        value = orjson.loads(arguments or "{}") if isinstance(arguments, str | bytes) else None
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{where}: 'arguments' is not JSON ({exc}); a tool_use input must be an object") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: 'arguments' must be a JSON object string; a tool_use input is an object")
    return value


def _thinking(item: Mapping[str, Any]) -> dict[str, Any] | None:
    signature = item.get("encrypted_content")
    if not isinstance(signature, str) or not signature:
        return None  # unsigned reasoning (another model's): the API would refuse it
    text = text_of(item.get("content"), "reasoning_text")
    if not text:
        summary = item.get("summary") or ()
        text = "\n\n".join(str(s.get("text", "")) for s in summary if isinstance(s, Mapping))
    if not text:
        return {"type": "redacted_thinking", "data": signature}
    return {"type": "thinking", "thinking": text, "signature": signature}


def items_to_turns(value: Any) -> Turns:
    """Messages turns (and the system text) for a Responses `input`: a string, or a list of items or SDK models."""
    turns = Turns()
    if value is None:
        return turns
    if isinstance(value, str):
        turns.add("user", _blocks(value, "input"))
        return turns
    for index, raw in enumerate(value):
        item, where = plain(raw), f"input[{index}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where} must be an item object, not {type(item).__name__}")
        kind, role = item.get("type") or "message", item.get("role")
        if kind == "message" and role in ("system", "developer"):
            text = text_of(item.get("content"), "input_text", "text")
            if text:
                turns.system.append(text)
        elif kind == "message" and role in ("user", "assistant"):
            turns.add(role, _blocks(item.get("content"), where))
        elif kind == "reasoning":
            thinking = _thinking(item)
            turns.add("assistant", [thinking] if thinking else [])
        elif kind == "function_call":
            call_id, name = item.get("call_id"), item.get("name")
            if not isinstance(call_id, str) or not isinstance(name, str):
                raise ValueError(f"{where}: a function_call item needs string 'call_id' and 'name'")
            tool_input = _tool_input(item.get("arguments"), where)
            turns.add("assistant", [{"type": "tool_use", "id": call_id, "name": name, "input": tool_input}])
        elif kind == "function_call_output":
            output = item.get("output")
            content: Any = output if isinstance(output, str) else _blocks(output, f"{where}.output")
            result = {"type": "tool_result", "tool_use_id": item.get("call_id"), "content": content}
            turns.add("user", [result])
        else:
            raise ValueError(f"{where}: items of type {kind!r} (role {role!r}) have no Messages equivalent")
    return turns


def _part(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A Responses input content part for one user-side Messages block."""
    kind = block.get("type")
    if kind == "text":
        return {"type": "input_text", "text": str(block.get("text", ""))}
    source = block.get("source")
    source = source if isinstance(source, Mapping) else {}
    if kind == "image" and source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
        return {"type": "input_image", "image_url": url, "detail": "auto"}
    if kind == "image" and source.get("type") == "url":
        return {"type": "input_image", "image_url": source.get("url"), "detail": "auto"}
    if kind == "document" and source.get("type") == "base64":
        return {"type": "input_file", "file_data": f"data:{source.get('media_type')};base64,{source.get('data')}"}
    raise ValueError(f"{where}: block {kind!r} has no Responses equivalent")


def _content_blocks(content: Any, where: str) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not all(isinstance(block, Mapping) for block in content):
        raise ValueError(f"{where}.content must be a string or a list of content blocks")
    return content


def _user_items(content: Any, where: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for index, block in enumerate(_content_blocks(content, where)):
        if block.get("type") != "tool_result":
            parts.append(_part(block, f"{where}.content[{index}]"))
            continue
        if parts:
            items.append({"type": "message", "role": "user", "content": parts})
            parts = []
        output = block.get("content")
        if isinstance(output, list):
            output = [_part(b, f"{where}.content[{index}].content[{i}]") for i, b in enumerate(output)]
        if block.get("is_error"):  # Responses outputs carry no error flag: the model reads it in the text
            output = f"Error: {text_of(output, 'input_text')}"
        call_id = block.get("tool_use_id")
        items.append({"type": "function_call_output", "call_id": call_id, "output": output or ""})
    if parts:
        items.append({"type": "message", "role": "user", "content": parts})
    return items


def assistant_block_items(blocks: Sequence[Any], status: str, where: str) -> list[dict[str, Any]]:
    """Responses output items for the blocks of one assistant turn, in their order; runs of text make one message."""
    items: list[dict[str, Any]] = []
    for index, raw in enumerate(blocks):
        block, here = plain(raw), f"{where}[{index}]"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            part = {"type": "output_text", "text": str(block.get("text", "")), "annotations": []}
            if items and items[-1]["type"] == "message":
                items[-1]["content"].append(part)
            else:
                items.append({"type": "message", "role": "assistant", "status": status, "content": [part]})
        elif kind == "thinking":
            content = [{"type": "reasoning_text", "text": str(block.get("thinking", ""))}]
            reasoning = {"type": "reasoning", "summary": [], "content": content, "status": status}
            items.append({**reasoning, "encrypted_content": block.get("signature")})
        elif kind == "redacted_thinking":
            items.append({"type": "reasoning", "summary": [], "encrypted_content": block.get("data"), "status": status})
        elif kind == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise ValueError(f"{here}: a tool_use block needs string 'id' and 'name'")
            arguments = orjson.dumps(block.get("input") or {}).decode()
            call = {"type": "function_call", "call_id": block["id"], "name": block["name"], "arguments": arguments}
            items.append({**call, "status": status})
        else:
            raise ValueError(f"{here}: block {kind!r} has no Responses equivalent (only client tools are supported)")
    return items


def turns_to_items(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """Responses input items for Messages turns (a model server's or a fake's view of a Messages request)."""
    items: list[dict[str, Any]] = []
    for index, raw in enumerate(messages):
        message, where = plain(raw), f"messages[{index}]"
        role = message.get("role") if isinstance(message, Mapping) else None
        if role == "user":
            items += _user_items(message.get("content"), where)
        elif role == "assistant":
            blocks = _content_blocks(message.get("content"), where)
            for item in assistant_block_items(blocks, "completed", f"{where}.content"):
                if item["type"] == "message":  # the easy input form: input items need no ids
                    item = {"type": "message", "role": "assistant", "content": text_of(item["content"], "output_text")}
                items.append(item)
        else:
            raise ValueError(f"{where}: role {role!r} is not a Messages role (use user or assistant)")
    return items
