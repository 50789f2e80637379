"""Reading a request body on the short path: bounded by the server's size limit, and validation failures
turned into a message that names the fields."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.types import Receive, Scope

from gymhall.exceptions import BodyTooLarge, InvalidBody, RequestError

__all__ = ["read_body", "validation_detail", "validation_message"]


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body of the request, refused as soon as its declared or received size passes `limit` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                raise InvalidBody("The Content-Length header is not a number.") from None
            if declared > limit:
                raise BodyTooLarge(_too_large(declared, limit))
            break
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
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(size: int, limit: int) -> str:
    return (
        f"The request body ({size} bytes) is over this server's limit of {limit} bytes. "
        "Send less, or raise max_body_bytes in the server's config."
    )


def validation_detail(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors in FastAPI's shape: each location starts with "body"."""
    return [{**error, "loc": ["body", *error["loc"]]} for error in exc.errors(include_url=False, include_context=False)]


def validation_message(method: str, path: str, detail: list[dict[str, Any]]) -> str:
    """One sentence naming the first three invalid fields of the body and what is wrong with each."""
    parts = []
    for error in detail[:3]:
        field = ".".join(str(p) for p in error["loc"][1:]) or "(the body)"
        parts.append(f"field {field!r}: {error['msg']}")
    more = f" (and {len(detail) - 3} more)" if len(detail) > 3 else ""
    return f"Invalid body for {method} {path}: " + "; ".join(parts) + more + ". Fix the request body."
