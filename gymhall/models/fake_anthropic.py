"""A fake Anthropic Messages server: the real HTTP protocol, answers chosen by a policy.

    from gymhall.testing import FakeAnthropic, Turn, ToolCall, scripted, serve_in_thread

    fake = FakeAnthropic(scripted([Turn(tool_calls=[ToolCall("increment", {"by": 1})]), Turn(text="1")]))
    with serve_in_thread(fake) as url:
        model = AnthropicMessagesModel("claude-test", base_url=url + "/v1")
        ...

It serves `POST /v1/messages` (non-streaming) and `GET /v1/models`, and checks requests as the API
does, answering its errors in its shape (`{"type": "error", "error": {"type", "message"}}`):

- `anthropic-version` is required; a key is required, in `x-api-key` or as `Authorization: Bearer` (the
  API takes either), and with `api_key` set it must equal that (401 otherwise);
- the body must name `model`, a positive `max_tokens` and a non-empty `messages` of `user` and
  `assistant` turns, and hold no keys the API does not know;
- each `tool_use` needs its `tool_result` in the next user turn, and each `thinking` block sent back
  the signature this fake gave it.

The policy is the fake OpenAI server's (`gymhall.models.fake_policy`): it sees the request converted to
Responses items (`FakeRequest` with dialect "responses"), so one policy drives both fakes. Its `Turn`
comes back as `thinking` (signed), `text` and `tool_use` blocks, with `stop_reason` `tool_use`,
`end_turn`, `max_tokens` (incomplete) or `refusal` (content_filter). Failures can be injected for the
first requests (`fail_first`, 529 "overloaded" by default), per request (header `x-fake-fail: <status>`),
or by the policy. `requests` keeps each request's Responses view, `bodies` the Messages bodies as sent.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from gymhall.models.fake_policy import Failure, FakeRequest, Policy, Turn, play

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send

__all__ = ["MESSAGES_KEYS", "FakeAnthropic", "signature"]

MESSAGES_KEYS = frozenset(
    {"model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "tools", "tool_choice"}
    | {"thinking", "output_config", "service_tier", "container", "cache_control", "diagnostics", "inference_geo"}
    | {"speed", "user_profile_id", "workspace_id", "temperature", "top_p", "top_k"}
)
"""The body keys the Messages API accepts (it refuses others with 400 "Extra inputs are not permitted"): the
anthropic SDK 2.17's create params, and the sampling keys older versions listed."""

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error"}
_ERROR_TYPES |= {404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}


class FakeAnthropic:
    """An ASGI app answering the Messages API with a policy's turns; serve it with `serve_in_thread`.

    Args:
        policy: chooses each answer (`scripted(...)`, `counter_policy()`, or your own function).
        fail_first: answer the first N requests with `fail_status`, as an overloaded API would.
        retry_after: seconds sent in `retry-after` with each failure (none by default).
        model: the model listed by `GET /v1/models`, and answered when a request names none.
        api_key: the only `x-api-key` accepted; None accepts any key.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        fail_first: int = 0,
        fail_status: int = 529,
        retry_after: float | None = None,
        delay_s: float = 0.0,
        model: str = "fake-claude",
        api_key: str | None = None,
        max_recorded: int = 1000,
    ) -> None:
        self.policy = policy
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.retry_after = retry_after
        self.delay_s = delay_s
        self.model = model
        self.api_key = api_key
        self.requests: collections.deque[FakeRequest] = collections.deque(maxlen=max_recorded)
        self.bodies: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_recorded)
        self.request_count = 0
        self._ids = itertools.count(1)
        self._id_prefix = os.urandom(4).hex()
        self._app: Starlette | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = self._build_app()
        await self._app(scope, receive, send)

    def _build_app(self) -> Starlette:
        from starlette.applications import Starlette
        from starlette.routing import Route

        async def health(request: Request) -> Response:
            return _reply(200, {"status": "ok"})

        async def models(request: Request) -> Response:
            refusal = self._refuse_headers(request.headers)
            if refusal is not None:
                return self._error(refusal)
            entry = {
                "type": "model",
                "id": self.model,
                "display_name": self.model,
                "created_at": "2025-01-01T00:00:00Z",
            }
            return _reply(200, {"data": [entry], "has_more": False, "first_id": self.model, "last_id": self.model})

        async def messages(request: Request) -> Response:
            return await self._answer(await request.body(), request.headers)

        routes = [
            Route("/", health, methods=["GET"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/messages", messages, methods=["POST"]),
        ]
        return Starlette(routes=routes)

    def _refuse_headers(self, headers: Mapping[str, str]) -> Failure | None:
        key = headers.get("x-api-key")
        bearer = headers.get("authorization", "")
        if key is None and bearer.startswith("Bearer "):  # the API takes either; the anthropic SDK 2.x sends this
            key = bearer.removeprefix("Bearer ")
        if key is None:
            return Failure(401, "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            return Failure(401, "invalid x-api-key")
        if not headers.get("anthropic-version"):
            return Failure(400, "anthropic-version: header is required")
        return None

    async def _answer(self, raw: bytes, headers: Mapping[str, str]) -> Response:
        refusal = self._refuse_headers(headers)
        if refusal is not None:
            return self._error(refusal)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return self._error(Failure(400, f"The request body is not valid JSON: {exc}"))
        problem = _body_problem(body) if isinstance(body, dict) else "The request body must be a JSON object"
        if problem is not None:
            return self._error(Failure(400, problem))
        # Imported here: `gymhall.testing` imports this module, and must stay cheap to import.
        from gymhall.wire.messages_conversion import messages_request_to_responses

        try:
            params = messages_request_to_responses(body)
        except ValueError as exc:
            return self._error(Failure(400, str(exc)))
        fake = FakeRequest(params, "responses", dict(headers))
        self.request_count += 1
        self.requests.append(fake)
        self.bodies.append(body)
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        if self.request_count <= self.fail_first:
            return self._error(
                Failure(self.fail_status, f"Overloaded (injected {self.request_count}/{self.fail_first})")
            )
        result = await play(self.policy, fake, headers)
        if isinstance(result, Failure):
            return self._error(result)
        try:
            return _reply(200, self._message(body, result, len(raw)))
        except ValueError as exc:
            return self._error(Failure(500, f"The fake's policy answered an unusable turn: {exc}"))

    def _error(self, failure: Failure) -> Response:
        status = failure.status
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        request_id = f"req_{self._id_prefix}{next(self._ids):x}"
        headers = {"request-id": request_id}
        retry_after = failure.retry_after if failure.retry_after is not None else self.retry_after
        if retry_after is not None:
            headers["retry-after"] = f"{retry_after:g}"
        body = {"type": "error", "error": {"type": kind, "message": failure.message}, "request_id": request_id}
        return _reply(status, body, headers)

    def _message(self, body: Mapping[str, Any], turn: Turn, request_bytes: int) -> dict[str, Any]:
        rid = f"{self._id_prefix}{next(self._ids):x}"
        content: list[dict[str, Any]] = []
        if turn.reasoning is not None:
            content.append({"type": "thinking", "thinking": turn.reasoning, "signature": signature(turn.reasoning)})
        if turn.text is not None or not turn.tool_calls:
            content.append({"type": "text", "text": turn.text or ""})
        for i, call in enumerate(turn.tool_calls):
            tool_input = orjson.loads(call.arguments) if isinstance(call.arguments, str) else dict(call.arguments)
            if not isinstance(tool_input, dict):
                raise ValueError(f"tool call {call.name!r}: a tool_use input must be a JSON object")
            call_id = call.call_id or f"toolu_{rid}_{i}"
            content.append({"type": "tool_use", "id": call_id, "name": call.name, "input": tool_input})
        if turn.finish_reason == "content_filter":
            stop_reason = "refusal"
        elif turn.incomplete or turn.finish_reason == "length":
            stop_reason = "max_tokens"
        else:
            stop_reason = "tool_use" if turn.tool_calls else "end_turn"
        output_bytes = sum(len(orjson.dumps(block)) for block in content)
        return {
            "id": f"msg_{rid}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model") or self.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": request_bytes // 4 + 1,
                "output_tokens": output_bytes // 4 + 1,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }


def signature(thinking: str) -> str:
    """The signature this fake gives a thinking block, and checks when the block comes back."""
    return f"fakesig-{zlib.crc32(thinking.encode()):08x}"


def _body_problem(body: dict[str, Any]) -> str | None:
    """What the Messages API would refuse in `body` (its message), or None."""
    extra = sorted(set(body) - MESSAGES_KEYS)
    if extra:
        return f"{extra[0]}: Extra inputs are not permitted"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Field required (a positive integer)"
    if body.get("stream"):
        return "stream: this fake answers non-streaming requests only"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required (a non-empty list)"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        if index and messages[index - 1].get("role") == message["role"]:
            return f"messages.{index}: roles must alternate between 'user' and 'assistant'"
        if not all(isinstance(block, dict) for block in blocks):
            return f"messages.{index}.content: each block must be an object"
        for block in blocks:
            if block.get("type") == "thinking" and block.get("signature") != signature(str(block.get("thinking"))):
                return f"messages.{index}.content: Invalid `signature` in `thinking` block"
        pending = [b.get("id") for b in blocks if message["role"] == "assistant" and b.get("type") == "tool_use"]
        if pending:
            following = messages[index + 1] if index + 1 < len(messages) else {}
            later = following.get("content")
            later = later if isinstance(later, list) else []
            answered = {b.get("tool_use_id") for b in later if isinstance(b, dict) and b.get("type") == "tool_result"}
            missing = [str(call_id) for call_id in pending if call_id not in answered]
            if missing and index + 1 < len(messages):
                return (
                    f"messages.{index + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` "
                    "block in the next message."
                )
    return None


def _reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    from starlette.responses import Response

    return Response(orjson.dumps(body), status, dict(headers or {}), media_type="application/json")
