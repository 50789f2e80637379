"""What the resources clients put in their requests and read from the answers.

Requests: tool arguments encoded as JSON (or sent as the model wrote them) and tool names checked before
they become URL paths. Answers: the JSON body decoded, and a refusal turned into a `ServerError` whose
message names the method, the path, the status and the server's own words; no answer at all (nothing
listening) turned into a `ServerUnreachable` naming the URL and how to start the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx
import orjson
from pydantic import BaseModel

from gymhall import exceptions
from gymhall.exceptions import ServerError
from gymhall.wire.contract import RESERVED_ROUTES, TOOL_NAME

__all__ = [
    "JSON_HEADERS",
    "Arguments",
    "HeadersLike",
    "ReplyLike",
    "as_json_object",
    "check_reply",
    "encode_arguments",
    "tool_path",
    "tool_result",
    "tool_text",
    "unreachable",
    "verify_result",
]

JSON_HEADERS = {"content-type": "application/json"}

Arguments = Mapping[str, Any] | BaseModel | str | bytes | None
"""Tool arguments: a mapping, a pydantic model, or JSON text exactly as a model emitted it."""


def as_json_object(value: Mapping[str, Any] | BaseModel | None, what: str) -> dict[str, Any]:
    """`value` as a JSON object (a model dumps only the fields it was given); `what` names it in the error."""
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{what} must be a mapping or a pydantic model, not {type(value).__name__}.")


def encode_arguments(arguments: Arguments, kwargs: Mapping[str, Any]) -> bytes:
    """The body of a tool call: `arguments` merged with `kwargs` (keywords win), or JSON text as given."""
    if isinstance(arguments, str | bytes):
        if kwargs:
            raise TypeError("Pass tool arguments either as JSON text or as keywords, not both.")
        # Sent unchanged: a model's malformed JSON must reach the server, whose 422 tells the model why.
        return arguments.encode() if isinstance(arguments, str) else arguments
    return orjson.dumps({**as_json_object(arguments, "Tool arguments"), **kwargs})


def tool_path(name: str) -> str:
    """The URL path of tool `name`; raises ValueError for a name that cannot be a tool or is an endpoint."""
    if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a tool name: tool names are 1-64 letters, digits, '_' or '-'.")
    if name in RESERVED_ROUTES:
        use = {"verify": "session.verify()", "close_session": "session.close()"}.get(name, "the client")
        raise ValueError(f"{name!r} is a resources-server endpoint, not a tool. Use {use} instead.")
    return "/" + name


class HeadersLike(Protocol):
    """The headers of an answer, read by name (case-insensitive)."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def get_list(self, key: str) -> list[str]: ...


class ReplyLike(Protocol):
    """What the client reads of an answer: an `httpx.Response`, or a `RawReply` (gymhall.client.http or in-process)."""

    @property
    def status_code(self) -> int: ...
    @property
    def content(self) -> bytes: ...
    @property
    def text(self) -> str: ...
    @property
    def is_success(self) -> bool: ...
    @property
    def headers(self) -> HeadersLike: ...


def _decode(response: ReplyLike) -> Any:
    """The JSON body, the text when it is not JSON, None when empty."""
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text


def _describe(body: Any) -> str:
    if isinstance(body, dict):
        message, detail = body.get("message"), body.get("detail")
        if isinstance(message, str):
            return message
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list) and detail and all(isinstance(e, dict) for e in detail):
            parts = []
            for error in detail[:3]:
                loc = [str(p) for p in error.get("loc", ())]
                field = ".".join(loc[1:] if loc[:1] == ["body"] else loc) or "(the body)"
                parts.append(f"field {field!r}: {error.get('msg', 'invalid')}")
            more = f" (and {len(detail) - 3} more)" if len(detail) > 3 else ""
            return "; ".join(parts) + more
        if detail is not None:
            return str(detail)
    if body is None or body == "":
        return "(empty body)"
    text = body if isinstance(body, str) else orjson.dumps(body).decode()
    return text if len(text) <= 500 else text[:500] + "..."


def _server_error(method: str, path: str, response: ReplyLike, hint: str = "") -> ServerError:
    body = _decode(response)
    message = f"{method} {path} failed with status {response.status_code}: {_describe(body)}"
    retry_after = response.headers.get("retry-after")
    if retry_after is not None:
        message += f" (retry after {retry_after} s)"
    if hint:
        message += f". {hint}"
    return ServerError(message, status_code=response.status_code, body=body)


def check_reply(method: str, path: str, response: ReplyLike, hint: str = "") -> Any:
    """The decoded body of a successful answer; raises `ServerError` (ending with `hint`) for any other."""
    if not response.is_success:
        raise _server_error(method, path, response, hint)
    return _decode(response)


def tool_result(name: str, response: ReplyLike) -> Any:
    """The answer of a call of tool `name`; an unknown tool's 404 says where the tools are listed."""
    hint = ""
    if response.status_code == 404 and _decode(response) == {"detail": "Not Found"}:
        hint = f"The server has no tool {name!r}; GET /tools (or the dataset row) lists its tools"
    return check_reply("POST", "/" + name, response, hint)


def tool_text(name: str, response: ReplyLike) -> str:
    """The text of a tool call's answer, a refusal (4xx) included: what an agent shows the model.

    A 5xx is the environment failing, not the model's call: it raises `ServerError`, never becomes text.
    """
    if response.status_code >= 500:
        raise _server_error("POST", "/" + name, response)
    return response.text


def verify_result(response: ReplyLike) -> dict[str, Any]:
    """The JSON object `POST /verify` answered (it holds `reward`)."""
    body = check_reply("POST", "/verify", response)
    if not isinstance(body, dict):
        raise ServerError(f"POST /verify answered {body!r}, not a JSON object.", status_code=200, body=body)
    return body


class ServerUnreachable(exceptions.ServerUnreachable, httpx.ConnectError):
    """`gymhall.ServerUnreachable` as the clients raise it: an `httpx.ConnectError` too, so every handler of
    transport failures (the agent's retries, `health()`) treats it as the refused connection it is."""

    __module__ = "gymhall"  # tracebacks name the class users catch: gymhall.ServerUnreachable


def unreachable(base_url: str, method: str, path: str, error: httpx.ConnectError) -> ServerUnreachable:
    """The error for a request to `base_url` that found no server: raise it `from None` (httpx's chain adds nothing)."""
    return ServerUnreachable(base_url, f"{method} {path} could not connect ({error})")
