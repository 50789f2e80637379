"""gymhall's route class and app: sessions, validation and serialization on a short path.

`GymApp` is a FastAPI app, so the seeds' `app.post("/tool")(self.tool)` works unchanged. Its routes
are `GymRoute`s: each reads its endpoint's signature once, at registration, and then serves a
request with one pass over raw ASGI messages: read the body (bounded), check the session handle,
validate the body with pydantic's JSON parser, call the endpoint, serialize with pydantic or
orjson. `GymApp` dispatches exact-path routes through a dict before FastAPI's middleware stack,
which is where a generic framework spends most of a small request's time. An app with user
middleware or custom exception handlers takes the ordinary FastAPI path, with the same semantics.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from gymhall.exceptions import BodyTooLarge, InvalidBody, JudgeError, RequestError, SessionRequired
from gymhall.server.sessions import HandleSigner, Session, SessionStore
from gymhall.wire.contract import SESSION_COOKIE_ATTRIBUTES, SESSION_HEADER, SESSION_ID_KEY, judge_failed

__all__ = ["GymApp", "GymRoute", "RouteKind"]

logger = logging.getLogger("gymhall.server")

_SESSION_HEADER_BYTES = SESSION_HEADER.encode()
_COOKIE_SUFFIX = f"; {SESSION_COOKIE_ATTRIBUTES}".encode()
_JSON_HEADERS = [(b"content-type", b"application/json")]
_ROLLOUT_PREFIX = "/ng-rollout/"


class RouteKind(Enum):
    """How a route treats sessions."""

    PLAIN = "plain"  # no session (health, tools listing, metrics)
    SEED = "seed"  # starts a session and returns its handle
    TOOL = "tool"  # needs a live session; calls within one session are serialized
    VERIFY = "verify"  # uses the session when a handle is sent; stateless otherwise (reverify)
    CLOSE = "close"  # closes the session; idempotent


class _Param(Enum):
    BODY = "body"
    REQUEST = "request"
    RESPONSE = "response"
    SESSION = "session"


def _plan_endpoint(endpoint: Callable[..., Any]) -> tuple[list[tuple[str, _Param]], type[BaseModel] | None] | None:
    """How to call `endpoint` on the short path, or None when only FastAPI's resolver can."""
    try:
        hints = typing.get_type_hints(endpoint)
        parameters = inspect.signature(endpoint).parameters.values()
    except (NameError, TypeError, ValueError):
        return None
    plan: list[tuple[str, _Param]] = []
    body_model: type[BaseModel] | None = None
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            return None
        annotation = hints.get(parameter.name)
        if not isinstance(annotation, type):
            return None
        if issubclass(annotation, BaseModel):
            if body_model is not None:
                return None
            body_model = annotation
            plan.append((parameter.name, _Param.BODY))
        elif issubclass(annotation, Request):
            plan.append((parameter.name, _Param.REQUEST))
        elif issubclass(annotation, Response):
            plan.append((parameter.name, _Param.RESPONSE))
        elif issubclass(annotation, Session):
            plan.append((parameter.name, _Param.SESSION))
        else:
            return None
    return plan, body_model


def _openapi_stub(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A parameterless stand-in for FastAPI's analysis: FastAPI would otherwise build its own copy of
    every body model's validator (megabytes for the Responses types). `GymApp.openapi` documents bodies."""

    async def stub() -> Any:
        raise AssertionError("served by GymRoute; never called")

    stub.__doc__ = endpoint.__doc__
    stub.__name__ = getattr(endpoint, "__name__", "endpoint")
    return stub


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


def _validation_detail(exc: ValidationError) -> list[dict[str, Any]]:
    return [{**error, "loc": ["body", *error["loc"]]} for error in exc.errors(include_url=False, include_context=False)]


def _validation_message(method: str, path: str, detail: list[dict[str, Any]]) -> str:
    parts = []
    for error in detail[:3]:
        field = ".".join(str(p) for p in error["loc"][1:]) or "(the body)"
        parts.append(f"field {field!r}: {error['msg']}")
    more = f" (and {len(detail) - 3} more)" if len(detail) > 3 else ""
    return f"Invalid body for {method} {path}: " + "; ".join(parts) + more + ". Fix the request body."


class _ResponseStarted(Exception):
    pass


class GymRoute(APIRoute):
    """A FastAPI route served on gymhall's short path, with the session rule of its `kind`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, kind: RouteKind | None = None, **kwargs: Any):
        self._plan = None if "{" in path else _plan_endpoint(endpoint)
        # FastAPI only sees the body parameter (for validation docs and OpenAPI); gymhall supplies the rest.
        if self._plan is not None:
            # The stub returns Any: its response documents as an untyped `{}` either way (only the generated
            # title goes), and without a response field FastAPI builds no validator (nor imports pydantic.v1).
            kwargs.setdefault("response_model", None)
        super().__init__(path, endpoint if self._plan is None else _openapi_stub(endpoint), **kwargs)
        self.endpoint = endpoint
        if kind is None:
            kind = RouteKind.TOOL if "POST" in (self.methods or ()) else RouteKind.PLAIN
        self.kind = kind
        self._fastapi_app = self.app
        self._is_async = inspect.iscoroutinefunction(endpoint) or inspect.iscoroutinefunction(
            getattr(endpoint, "__call__", None)  # noqa: B004 - callable objects with async __call__
        )
        self.app = self._asgi

    @property
    def body_model(self) -> type[BaseModel] | None:
        """The pydantic model of the body, when the endpoint declares one."""
        return self._plan[1] if self._plan is not None else None

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle_request(scope["app"], scope, receive, send)

    async def handle_request(self, app: GymApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request; every failure becomes a JSON answer naming the problem."""
        session: Session | None = None
        handle: str | None = None
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            if self.kind is RouteKind.PLAIN:
                await self._call(app, scope, receive, tracking_send, None, None)
                return
            handle = _find_handle(scope, app.session_cookie)
            if self.kind is RouteKind.SEED:
                await self._call(app, scope, receive, tracking_send, None, None)
                return
            if handle is None:
                if self.kind is RouteKind.VERIFY:
                    scope["session"] = {}
                    await self._call(app, scope, receive, tracking_send, None, None)
                    return
                raise SessionRequired(
                    f"{scope['method']} {scope['path']} needs a session and the request carried none. "
                    f"Call POST /seed_session first and send its handle back in the {app.session_cookie!r} "
                    f"cookie or the {SESSION_HEADER!r} header."
                )
            session_id = app.signer.unsign(handle)
            if self.kind is RouteKind.CLOSE:
                closed = app.store.close(session_id)
                await app.store.flush_closed()
                await _send_json(tracking_send, 200, b'{"closed":true}' if closed else b'{"closed":false}', [])
                return
            session = app.store.get(session_id)
            if self.kind is RouteKind.TOOL:
                async with session.lock:
                    await self._call(app, scope, receive, tracking_send, session, handle)
            else:
                await self._call(app, scope, receive, tracking_send, session, handle)
        except RequestError as exc:
            if not started:
                await _send_error(send, exc.status_code, exc.to_json(), exc.headers)
        except HTTPException as exc:
            if not started:
                body = {"detail": exc.detail, "error": "http_error"}
                await _send_error(send, exc.status_code, body, dict(exc.headers or {}))
        except JudgeError as exc:  # a seed-style verify: NeMo Gym's judge failsafe, a 200 recorded as a failure
            if not started:
                await _send_json(send, 200, orjson.dumps(judge_failed(str(exc))), [])
        except Exception as exc:
            logger.exception("%s %s failed (session %s)", scope["method"], scope["path"], session and session.id)
            if not started:
                message = f"{type(exc).__name__}: {exc}"
                body = {"detail": message, "error": "internal_error"}
                await _send_error(send, 500, body, {})

    async def _call(
        self,
        app: GymApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        session: Session | None,
        handle: str | None,
    ) -> None:
        if session is not None:
            scope["session"] = {SESSION_ID_KEY: session.id}
            scope["gymhall.session"] = session
        if self._plan is None:
            await self._call_fastapi(app, scope, receive, send, handle)
            return
        body = await _read_body(scope, receive, app.max_body_bytes)
        plan, body_model = self._plan
        parsed: BaseModel | None = None
        if body_model is not None:
            try:
                parsed = body_model.model_validate_json(body or b"{}")
            except ValidationError as exc:
                detail = _validation_detail(exc)
                raise InvalidBody(_validation_message(scope["method"], scope["path"], detail), detail=detail) from None
        if self.kind is RouteKind.SEED:
            session = app.store.create()
            handle = app.signer.sign(session.id)
            scope["session"] = {SESSION_ID_KEY: session.id}
            scope["gymhall.session"] = session
        response: Response | None = None
        kwargs: dict[str, Any] = {}
        for name, param in plan:
            if param is _Param.BODY:
                kwargs[name] = parsed
            elif param is _Param.REQUEST:
                request = Request(scope, receive)
                request._body = body
                kwargs[name] = request
            elif param is _Param.SESSION:
                kwargs[name] = session
            else:
                response = kwargs[name] = Response()
        try:
            if self._is_async:
                result = await self.endpoint(**kwargs)
            else:
                result = await run_in_threadpool(self.endpoint, **kwargs)
        except BaseException:
            if self.kind is RouteKind.SEED and session is not None:
                app.store.close(session.id)
            raise
        headers: list[tuple[bytes, bytes]] = []
        if handle is not None:
            headers.append((b"set-cookie", app.cookie_header(handle)))
        if self.kind is RouteKind.SEED:
            assert handle is not None
            headers.append((_SESSION_HEADER_BYTES, handle.encode()))
            result = _with_handle(result, handle)
        if isinstance(result, Response):
            result.raw_headers.extend(headers)
            await result(scope, receive, send)
            return
        status = 200
        if response is not None:
            headers.extend(h for h in response.raw_headers if h[0] != b"content-length")
            status = response.status_code or 200
        await _send_json(send, status, dump_json(result), headers)

    async def _call_fastapi(self, app: GymApp, scope: Scope, receive: Receive, send: Send, handle: str | None) -> None:
        """Let FastAPI resolve an endpoint whose signature the short path does not cover."""
        extra: list[tuple[bytes, bytes]] = []
        session = scope.get("gymhall.session")
        if self.kind is RouteKind.SEED:
            session = app.store.create()
            handle = app.signer.sign(session.id)
            scope["session"] = {SESSION_ID_KEY: session.id}
            scope["gymhall.session"] = session
            extra.append((_SESSION_HEADER_BYTES, handle.encode()))
        if handle is not None:
            extra.append((b"set-cookie", app.cookie_header(handle)))

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self._fastapi_app(scope, receive, send_with_session)
        except BaseException:
            if self.kind is RouteKind.SEED and session is not None:
                app.store.close(session.id)
            raise


def _with_handle(result: Any, handle: str) -> Any:
    if result is None:
        return {"session": handle}
    if isinstance(result, BaseModel):
        return {**result.model_dump(mode="json"), "session": handle}
    if isinstance(result, Mapping):
        return {**result, "session": handle}
    return result


def _find_handle(scope: Scope, cookie_name: str) -> str | None:
    cookie: bytes | None = None
    for name, value in scope["headers"]:
        if name == _SESSION_HEADER_BYTES:
            handle: str = value.decode("latin-1")
            return handle
        if name == b"cookie":
            cookie = value
    if cookie is None:
        return None
    return cookie_parser(cookie.decode("latin-1")).get(cookie_name)


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
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


async def _send_json(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Send, status: int, body: dict[str, Any], headers: Mapping[str, str]) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await _send_json(send, status, orjson.dumps(body, default=str), raw)


class GymApp(FastAPI):
    """A FastAPI app whose exact-path gymhall routes skip the generic middleware stack.

    Holds the server's session store, handle signer and limits; every `GymRoute` reads them here.
    """

    def __init__(
        self,
        *,
        store: SessionStore,
        signer: HandleSigner,
        session_cookie: str,
        max_body_bytes: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.router.route_class = GymRoute
        self.store = store
        self.signer = signer
        self.session_cookie = session_cookie
        self.max_body_bytes = max_body_bytes
        self._cookie_prefix = f"{session_cookie}=".encode()
        self._fast: dict[tuple[str, str], GymRoute] = {}
        self._fast_key: tuple[int, int, int] | None = None
        self._default_handlers = set(self.exception_handlers)
        self.shutdown_hooks: list[Callable[[], Awaitable[None]]] = []

    async def shutdown(self) -> None:
        """Run the shutdown hooks once (closing judges, stopping worker pools); later calls do nothing.

        The server's lifespan calls it when it stops; an in-process client calls it when it is closed.
        """
        hooks, self.shutdown_hooks = self.shutdown_hooks, []
        for hook in hooks:
            try:
                await hook()
            except Exception:
                logging.getLogger("gymhall.server").exception("a shutdown hook failed")

    def add_gym_route(
        self,
        path: str,
        endpoint: Callable[..., Awaitable[Any]],
        *,
        kind: RouteKind,
        methods: list[str],
        **kwargs: Any,
    ) -> GymRoute:
        """Register a route with an explicit session rule (the standard endpoints use this)."""
        route = GymRoute(path, endpoint, kind=kind, methods=methods, **kwargs)
        self.router.routes.append(route)
        return route

    def cookie_header(self, handle: str) -> bytes:
        """The Set-Cookie value carrying `handle`; sent on every session response (NeMo Gym's agent needs it)."""
        return self._cookie_prefix + handle.encode() + _COOKIE_SUFFIX

    def gym_routes(self) -> list[GymRoute]:
        """Every `GymRoute` of the app, in registration order."""
        return [route for route in self.router.routes if isinstance(route, GymRoute)]

    def openapi(self) -> dict[str, Any]:
        """FastAPI's OpenAPI document, with the request bodies of the routes gymhall serves itself."""
        if self.openapi_schema is None:
            schema = super().openapi()
            paths = schema.get("paths", {})
            for route in self.gym_routes():
                model = route.body_model
                for method in route.methods or ():
                    operation = paths.get(route.path, {}).get(method.lower())
                    if model is not None and operation is not None:
                        body = {"application/json": {"schema": model.model_json_schema()}}
                        operation["requestBody"] = {"required": True, "content": body}
        return self.openapi_schema or {}

    def _fast_table(self) -> dict[tuple[str, str], GymRoute]:
        key = (len(self.router.routes), len(self.user_middleware), len(self.exception_handlers))
        if key != self._fast_key:
            self._fast = {}
            if not self.user_middleware and set(self.exception_handlers) == self._default_handlers:
                for route in self.gym_routes():
                    if route._plan is None:  # FastAPI resolves it, inside its own middleware stack
                        continue
                    for method in route.methods or ():
                        self._fast.setdefault((method, route.path), route)
            self._fast_key = key
        return self._fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(_ROLLOUT_PREFIX):
                # NeMo Gym's rollout-correlation prefix: /ng-rollout/<id>/<route>
                rest = path[len(_ROLLOUT_PREFIX) :].partition("/")[2]
                scope = {**scope, "path": "/" + rest, "gymhall.rollout_id": path[len(_ROLLOUT_PREFIX) :].split("/")[0]}
                path = scope["path"]
            route = self._fast_table().get((scope["method"], path))
            if route is not None:
                scope["app"] = self
                await route.handle_request(self, scope, receive, send)
                return
        await super().__call__(scope, receive, send)
