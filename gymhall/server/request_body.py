"""Reading a request body on the short path: bounded by the server's size limit, and validation failures
turned into a message that names the fields."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import Any

from pydantic import ValidationError
from starlette.types import Receive, Scope

from gymhall.exceptions import BodyTooLarge, InvalidBody, RequestError, UnsupportedMediaType

__all__ = ["MAX_ERRORS", "bounded_detail", "read_body", "validation_detail", "validation_message"]

#: How many of a body's validation errors a 422 lists; the message counts the rest.
MAX_ERRORS = 5
_MAX_TEXT = 80  # characters of an invalid input or a location part that an error echoes
_MAX_MSG = 400  # characters of an error's message (a validator's own words may quote its input)
_MAX_LOC = 8  # location parts an error lists
_MAX_ITEMS = 4  # items of an invalid list or object that an error echoes


async def read_body(scope: Scope, receive: Receive, limit: int, *, json: bool = False) -> bytes:
    """The whole body of the request, refused as soon as its declared or received size passes `limit` bytes.

    `json`: the body is parsed as JSON, so a non-empty body sent with a Content-Type that is not JSON
    (`text/plain`, a form) is refused with 415; no Content-Type at all is read as JSON.
    """
    content_type: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                raise InvalidBody("The Content-Length header is not a number.") from None
            if declared > limit:
                raise BodyTooLarge(_too_large(declared, limit))
        elif name == b"content-type":
            content_type = value
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError("The client disconnected before sending the whole body.")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(_too_large(size, limit))
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if json and content_type is not None and content_type != b"application/json" and chunks:
        _check_json_type(content_type, scope)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _check_json_type(content_type: bytes, scope: Scope) -> None:
    media = content_type.partition(b";")[0].strip().lower()
    if media == b"application/json" or media.endswith(b"+json"):
        return
    shown = content_type.decode("latin-1")[:_MAX_TEXT]
    raise UnsupportedMediaType(
        f"{scope['method']} {scope['path']} takes a JSON body, and this one was sent as {shown!r}. "
        "Send it with Content-Type: application/json (curl: -H 'Content-Type: application/json')."
    )


def _too_large(size: int, limit: int) -> str:
    return (
        f"The request body ({size} bytes) is over this server's limit of {limit} bytes. "
        "Send less, or raise max_body_bytes (for a tool's arguments: max_tool_body_bytes) in the server's config."
    )


def validation_detail(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors in FastAPI's shape (each location starts with "body"), bounded whatever the body.

    At most `MAX_ERRORS` errors; each echoes a short preview of its invalid input (strings and location
    parts cut to 80 characters, containers to their first 4 items, one level deep, integers past 64 bits
    as text), so a 422 stays a few KiB however large the invalid body (the last error's `more_errors`
    and `validation_message` count the errors left out).
    """
    return bounded_detail(exc.errors(include_url=False, include_context=False), ("body",))


def bounded_detail(errors: Sequence[Any], prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """`errors` (pydantic's or FastAPI's) bounded as `validation_detail` says, each location after `prefix`."""
    detail = [_bounded(error, prefix) for error in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        detail[-1]["more_errors"] = len(errors) - MAX_ERRORS
    return detail


def _bounded(error: Any, prefix: tuple[str, ...]) -> dict[str, Any]:
    loc = [p if isinstance(p, int) and -(2**63) <= p < 2**63 else _cut(str(p)) for p in error["loc"][:_MAX_LOC]]
    if len(error["loc"]) > _MAX_LOC:
        loc.append("...")
    bounded = {"type": error["type"], "loc": [*prefix, *loc], "msg": _cut(str(error["msg"]), _MAX_MSG)}
    if "input" in error:
        bounded["input"] = _preview(error["input"], 1)
    return bounded


def _cut(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _preview(value: Any, depth: int) -> Any:
    """`value` as JSON small enough to echo: short strings, a few items, no integer orjson cannot write."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else _cut(str(value))
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, bytes | bytearray):  # an invalid JSON body is its input
        text = bytes(value[:_MAX_TEXT]).decode("utf-8", "replace")
        return text if len(value) <= _MAX_TEXT else f"{text}... ({len(value)} bytes)"
    if isinstance(value, dict):
        if depth == 0:
            return f"{{...}} ({len(value)} keys)"
        items = {_cut(str(k)): _preview(v, depth - 1) for k, v in islice(value.items(), _MAX_ITEMS)}
        if len(value) > _MAX_ITEMS:
            items["..."] = f"{len(value) - _MAX_ITEMS} more keys"
        return items
    if isinstance(value, list | tuple):
        if depth == 0:
            return f"[...] ({len(value)} items)"
        listed = [_preview(v, depth - 1) for v in value[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            listed.append(f"... {len(value) - _MAX_ITEMS} more items")
        return listed
    return _cut(repr(value))


def validation_message(method: str, path: str, detail: list[dict[str, Any]]) -> str:
    """One sentence naming the first three invalid fields of the body and what is wrong with each.

    A location that does not start with "body" (FastAPI's "query", "path", "header") names that part.
    """
    where = "body" if not detail or detail[0]["loc"][:1] == ["body"] else str(detail[0]["loc"][0])
    parts = []
    for error in detail[:3]:
        field = ".".join(str(p) for p in error["loc"][1:]) or "(the body)"
        parts.append(f"field {field!r}: {error['msg']}")
    total = len(detail) + int(detail[-1].get("more_errors", 0)) if detail else 0
    more = f" (and {total - 3} more)" if total > 3 else ""
    return f"Invalid {where} for {method} {path}: " + "; ".join(parts) + more + f". Fix the request {where}."
