"""Answering on the short path: an endpoint's result serialized to JSON and sent as raw ASGI messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.types import Send

__all__ = ["dump_json", "error_json", "send_error", "send_json"]

_JSON_HEADERS = [(b"content-type", b"application/json")]


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dump_json(value: Any) -> bytes:
    """Serialize an endpoint's result: pydantic models natively, everything else with orjson."""
    if isinstance(value, BaseModel):
        return value.__pydantic_serializer__.to_json(value)
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY)


async def send_json(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """Send `body`, already JSON, with `status` and the extra raw `headers`."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, status: int, body: dict[str, Any], headers: Mapping[str, str]) -> None:
    """Send an error answer (`error_json`) with `status` and `headers`."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send_json(send, status, error_json(body), raw)


def error_json(body: dict[str, Any]) -> bytes:
    """An error answer's body as JSON; values orjson cannot serialize (objects, integers past 64 bits) as text."""
    try:
        return orjson.dumps(body, default=str)
    except TypeError:  # orjson refuses integers past 64 bits without asking `default`
        return json.dumps(body, default=str, ensure_ascii=False).encode()
