"""Serve any `Model` over HTTP as an OpenAI-compatible model server (NeMo Gym's model server routes).

    app = build_model_app(OpenAIResponsesModel("Qwen/Qwen3-8B", base_url="http://gpu1:8000/v1"))

Routes: `GET /` (health), `GET /v1/models`, `POST /v1/responses` and `POST /v1/chat/completions`; with
`"stream": true` the whole answer is sent as server-sent events (`gymhall.models.streaming`).
A rollout's session travels as the `x-gymhall-session` header or a session cookie and becomes the
call's `session_key`, so a model with several replicas keeps each rollout on one. Errors are
answered in OpenAI's shape, `{"error": {"message", "type", ...}}`, so OpenAI clients read them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gymhall import tracing
from gymhall.exceptions import ModelError
from gymhall.models.base import Model, ModelRequest
from gymhall.models.streaming import chat_events, response_events
from gymhall.wire.contract import NEMO_GYM_SESSION_COOKIE, SESSION_COOKIE_PREFIX, SESSION_HEADER
from gymhall.wire.conversion import chat_request_to_responses, response_to_chat
from gymhall.wire.responses import ResponseCreateParams, with_complete_usage

__all__ = ["build_model_app", "session_key"]

logger = logging.getLogger("gymhall.model_server")

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024  # long multimodal conversations, with room to spare
_EVENT_STREAM = "text/event-stream"


class _Refused(Exception):
    """A request the server refuses before calling the model."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", param: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.param = param


def build_model_app(model: Model, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Starlette:
    """A Starlette app serving `model`; the model is closed when the app's lifespan ends."""

    async def health(request: Request) -> Response:
        return _json({"status": "ok", "model": model.name})

    async def models(request: Request) -> Response:
        # What OpenAI-compatible clients ask to learn the model's name (vLLM answers it too).
        return _json({"object": "list", "data": [{"id": model.name, "object": "model", "owned_by": "gymhall"}]})

    async def answer(request: Request, route: str, convert: bool) -> Response:
        try:
            body = await _read_json(request, max_body_bytes)
            stream = body.get("stream") is True
            if convert:
                try:
                    params = chat_request_to_responses({**body, "stream": False})
                except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
                    raise _Refused(400, f"Invalid chat completions request: {exc}") from None
            else:
                params = {key: value for key, value in body.items() if key not in ("stream", "stream_options")}
                _check_params(params)
            result = await model.respond(ModelRequest(params=params, session_key=session_key(request)))
        except _Refused as exc:
            return _error(exc.status, exc.message, exc.kind, exc.param)
        except ModelError as exc:
            return _model_error(exc)
        except Exception:
            logger.exception("the model failed on POST %s", route)
            return _error(500, "The model raised an unexpected error (see the model server's log).", "server_error")
        if convert:
            if stream:
                completion = orjson.loads(orjson.dumps(response_to_chat(result), default=_dump_model))
                return StreamingResponse(chat_events(completion), media_type=_EVENT_STREAM)
            return _json(response_to_chat(result))
        result = with_complete_usage(result)  # the OpenAI SDK's (and NeMo Gym's) Response needs every usage detail
        if stream:
            return StreamingResponse(response_events(result), media_type=_EVENT_STREAM)
        return Response(result.__pydantic_serializer__.to_json(result), media_type="application/json")

    async def responses(request: Request) -> Response:
        return await answer(request, "/v1/responses", convert=False)

    async def chat_completions(request: Request) -> Response:
        return await answer(request, "/v1/chat/completions", convert=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await model.aclose()

    routes = [
        Route("/", health, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    ]
    # A server span per request while tracing is on (gymhall.tracing), child of the agent's model call.
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(_Traced)])


class _Traced:
    """ASGI middleware: `gymhall.tracing.traced_app` (one `tracer is None` check per request while off)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = tracing.traced_app(app, server="model")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def session_key(request: Request) -> str:
    """The rollout's session: the `x-gymhall-session` header, else a session cookie's value, else ''."""
    header = request.headers.get(SESSION_HEADER)
    if header:
        return header
    cookies = request.cookies
    if cookies.get(NEMO_GYM_SESSION_COOKIE):
        return cookies[NEMO_GYM_SESSION_COOKIE]
    for name, value in sorted(cookies.items()):
        if name.startswith(SESSION_COOKIE_PREFIX) and value:
            return value
    return ""


async def _read_json(request: Request, limit: int) -> dict[str, Any]:
    size = int(request.headers.get("content-length") or 0)
    if size > limit:
        raise _Refused(413, f"The body has {size} bytes; this server accepts at most {limit}.")
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, f"The body is over this server's limit of {limit} bytes.")
        chunks.append(chunk)
    try:
        body = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise _Refused(400, f"The body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise _Refused(400, f"The body must be a JSON object, not {type(body).__name__}.")
    return body


def _check_params(params: Mapping[str, Any]) -> None:
    """Validate Responses create params leniently (unknown keys pass); the model gets the original dict."""
    try:
        ResponseCreateParams.model_validate(params)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in problem["loc"])
        raise _Refused(422, f"Invalid Responses request: {field}: {problem['msg']}.", param=field) from None


def _model_error(exc: ModelError) -> Response:
    # Not retryable upstream (e.g. a 400 for a too-long prompt): tell OpenAI clients not to retry the 502.
    headers = {} if exc.retryable else {"x-should-retry": "false"}
    return _error(502, str(exc), "model_error", code=exc.status_code, headers=headers)


def _error(
    status: int,
    message: str,
    kind: str = "invalid_request_error",
    param: str | None = None,
    *,
    code: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return _json(body, status, headers)


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body, default=_dump_model), status, headers, media_type="application/json")


def _dump_model(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
