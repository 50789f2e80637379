"""gymhall's route class: the session rule of each route and one short pass over raw ASGI messages.

A `GymRoute` reads its endpoint's signature once, at registration (`gymhall.server.endpoint_plan`), and
then serves a request in one pass: read the body (bounded), check the session handle, validate the body
with pydantic's JSON parser, call the endpoint, serialize with pydantic or orjson. An endpoint whose
signature the short path does not cover is resolved by FastAPI, with the same session rule.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from gymhall import tracing
from gymhall.exceptions import (
    AnswerTooLarge,
    ForkUnsupported,
    InvalidBody,
    JudgeError,
    RequestError,
    SessionRequired,
)
from gymhall.server.endpoint_plan import EndpointParam, EndpointPlan, openapi_stub, plan_endpoint
from gymhall.server.json_response import dump_json, send_error, send_json
from gymhall.server.request_body import read_body, validation_detail, validation_message
from gymhall.server.sessions import Session
from gymhall.wire.contract import SESSION_HEADER, SESSION_ID_KEY, judge_failed
from gymhall.wire.deadline import DEADLINE_HEADER, parse_deadline, rollout_deadline
from gymhall.wire.schemas import CloseSessionRequest, CloseSessionResponse, ForkSessionRequest, ForkSessionResponse

if TYPE_CHECKING:
    from gymhall.server.app import GymApp

__all__ = ["GymRoute", "RouteKind"]

logger = logging.getLogger("gymhall.server")

_SESSION_HEADER_BYTES = SESSION_HEADER.encode()
_DEADLINE_HEADER_BYTES = DEADLINE_HEADER.encode()
_MAX_ERROR_CHARS = 2000  # of an unexpected exception's text in a 500 answer


class RouteKind(Enum):
    """How a route treats sessions."""

    PLAIN = "plain"  # no session (health, tools listing, metrics)
    SEED = "seed"  # starts a session and returns its handle
    TOOL = "tool"  # needs a live session; calls within one session are serialized
    VERIFY = "verify"  # uses the session when a handle is sent; stateless otherwise (reverify)
    CLOSE = "close"  # closes the session; idempotent
    FORK = "fork"  # copies a live session's state into new sessions (gymhall's extension)


class GymRoute(APIRoute):
    """A FastAPI route served on gymhall's short path, with the session rule of its `kind`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, kind: RouteKind | None = None, **kwargs: Any):
        self._plan: EndpointPlan | None = None if "{" in path else plan_endpoint(endpoint)
        # FastAPI only sees the body parameter (for validation docs and OpenAPI); gymhall supplies the rest.
        if self._plan is not None:
            # The stub returns Any: its response documents as an untyped `{}` either way (only the generated
            # title goes), and without a response field FastAPI builds no validator (nor imports pydantic.v1).
            kwargs.setdefault("response_model", None)
        super().__init__(path, endpoint if self._plan is None else openapi_stub(endpoint), **kwargs)
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

    @property
    def short_path(self) -> bool:
        """Whether gymhall serves the route itself; False when FastAPI resolves its endpoint's parameters."""
        return self._plan is not None

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle_request(scope["app"], scope, receive, send)

    async def handle_request(self, app: GymApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request; every failure becomes a JSON answer naming the problem."""
        if tracing.tracer is not None:  # tracing on: a server span continuing the caller's trace
            await tracing.server_request(partial(self._handle, app), scope, receive, send, server=app.title)
            return
        await self._handle(app, scope, receive, send)

    async def _handle(self, app: GymApp, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            if self.kind is RouteKind.PLAIN:
                await self._call(app, scope, receive, tracking_send, None, None)
                return
            handle, deadline = _find_handle(scope, app.session_cookie)
            if deadline is None:
                await self._serve(app, scope, receive, tracking_send, handle)
                return
            with rollout_deadline(parse_deadline(deadline)):  # the rollout's budget, for time_left()
                await self._serve(app, scope, receive, tracking_send, handle)
        except RequestError as exc:
            if not started:
                await send_error(send, exc.status_code, exc.to_json(), exc.headers)
        except HTTPException as exc:
            if not started:
                body = {"detail": exc.detail, "error": "http_error"}
                await send_error(send, exc.status_code, body, dict(exc.headers or {}))
        except JudgeError as exc:  # a seed-style verify: NeMo Gym's judge failsafe, a 200 recorded as a failure
            if not started:
                await send_json(send, 200, orjson.dumps(judge_failed(str(exc))), [])
        except Exception as exc:
            session = scope.get("gymhall.session")
            logger.exception("%s %s failed (session %s)", scope["method"], scope["path"], session and session.id)
            if not started:
                message = f"{type(exc).__name__}: {exc}"
                if len(message) > _MAX_ERROR_CHARS:  # an exception may quote a whole input
                    message = f"{message[:_MAX_ERROR_CHARS]}... ({len(message)} characters)"
                body = {"detail": message, "error": "internal_error"}
                await send_error(send, 500, body, {})

    async def _serve(self, app: GymApp, scope: Scope, receive: Receive, send: Send, handle: str | None) -> None:
        """Apply the route's session rule, then call the endpoint."""
        if self.kind is RouteKind.SEED:
            await self._call(app, scope, receive, send, None, None)
            return
        if self.kind is RouteKind.CLOSE:
            await _close(app, scope, receive, send, handle)
            return
        if handle is None:
            if self.kind is RouteKind.VERIFY:
                scope["session"] = {}
                await self._call(app, scope, receive, send, None, None)
                return
            raise SessionRequired(
                f"{scope['method']} {scope['path']} needs a session and the request carried none. "
                f"Call POST /seed_session first and send its handle back in the {app.session_cookie!r} "
                f"cookie or the {SESSION_HEADER!r} header."
            )
        session = app.store.get(app.signer.unsign(handle))
        scope["gymhall.session"] = session
        if self.kind is RouteKind.FORK:
            async with session.lock:  # a consistent copy: no tool call of the parent runs meanwhile
                await _fork(app, scope, receive, send, session)
        elif self.kind is RouteKind.TOOL:
            async with session.lock:
                await self._call(app, scope, receive, send, session, handle)
        else:
            await self._call(app, scope, receive, send, session, handle)

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
        plan, body_model = self._plan
        tool = self.kind is RouteKind.TOOL
        body = await read_body(
            scope, receive, app.max_tool_body_bytes if tool else app.max_body_bytes, json=body_model is not None
        )
        parsed: BaseModel | None = None
        if body_model is not None:
            try:
                parsed = body_model.model_validate_json(body or b"{}")
            except ValidationError as exc:
                detail = validation_detail(exc)
                raise InvalidBody(validation_message(scope["method"], scope["path"], detail), detail=detail) from None
        if self.kind is RouteKind.SEED:
            session = app.store.create()
            handle = app.signer.sign(session.id)
            scope["session"] = {SESSION_ID_KEY: session.id}
            scope["gymhall.session"] = session
        response: Response | None = None
        kwargs: dict[str, Any] = {}
        for name, param in plan:
            if param is EndpointParam.BODY:
                kwargs[name] = parsed
            elif param is EndpointParam.REQUEST:
                request = Request(scope, receive)
                request._body = body
                kwargs[name] = request
            elif param is EndpointParam.SESSION:
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
        answer = dump_json(result)
        if tool and len(answer) > app.max_answer_bytes:
            raise AnswerTooLarge(_answer_too_large(scope["path"], len(answer), app.max_answer_bytes))
        await send_json(send, status, answer, headers)

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


async def _close(app: GymApp, scope: Scope, receive: Receive, send: Send, handle: str | None) -> None:
    """`POST /close_session`: close the session of the handle (cookie or header); idempotent.

    NeMo Gym 0.7's Environment Servers send a JSON body `{resources_session_id, episode_id}` (with the
    seed's cookie); its `resources_session_id` is echoed, and closing one this server never saw succeeds.
    """
    body = await read_body(scope, receive, app.max_body_bytes, json=True)
    try:
        request = CloseSessionRequest.model_validate_json(body) if body.strip() else None
    except ValidationError as exc:
        detail = validation_detail(exc)
        raise InvalidBody(validation_message(scope["method"], scope["path"], detail), detail=detail) from None
    echo = (
        {}
        if request is None or request.resources_session_id is None
        else {"resources_session_id": request.resources_session_id}
    )
    if handle is None:
        if not echo:
            raise SessionRequired(
                f"POST {scope['path']} needs a session and the request carried none. Send the handle "
                f"POST /seed_session gave in the {app.session_cookie!r} cookie or the {SESSION_HEADER!r} "
                'header, or NeMo Gym 0.7\'s body {"resources_session_id": ..., "episode_id": ...}.'
            )
        closed = False
    else:
        closed = app.store.close(app.signer.unsign(handle))
        await app.store.flush_closed()
    await send_json(
        send, 200, orjson.dumps(CloseSessionResponse(closed=closed, **echo).model_dump(exclude_none=True)), []
    )


async def _fork(app: GymApp, scope: Scope, receive: Receive, send: Send, parent: Session) -> None:
    """`POST /fork_session`: `n` new sessions, each holding its own copy of `parent`'s state."""
    if app.forker is None:
        raise ForkUnsupported(
            "This server cannot fork sessions: its environment does not copy session state. Seed each "
            "rollout with POST /seed_session instead (gymhall collect without --fork), or give the "
            "environment a fork: Environment.fork(state), or SimpleResourcesServer.fork_session(parent_id, child_id)."
        )
    body = await read_body(scope, receive, app.max_body_bytes, json=True)
    try:
        request = ForkSessionRequest.model_validate_json(body or b"{}")
    except ValidationError as exc:
        detail = validation_detail(exc)
        raise InvalidBody(validation_message(scope["method"], scope["path"], detail), detail=detail) from None
    children: list[Session] = []
    try:
        for _ in range(request.n):
            child = app.store.create()  # ServerBusy when the store is full: the forks made so far are closed
            children.append(child)
            await app.forker(parent, child)
    except BaseException:
        for child in children:
            app.store.close(child.id)
        await app.store.flush_closed()
        raise
    handles = [app.signer.sign(child.id) for child in children]
    await send_json(send, 200, orjson.dumps(ForkSessionResponse(sessions=handles).model_dump()), [])


def _answer_too_large(path: str, size: int, limit: int) -> str:
    return (
        f"The answer of tool {path.lstrip('/')!r} ({size} bytes) is over this server's limit of {limit} bytes "
        "(max_answer_bytes), so it was not sent. Ask for less: narrow the query or request fewer items."
    )


def _with_handle(result: Any, handle: str) -> Any:
    if result is None:
        return {"session": handle}
    if isinstance(result, BaseModel):
        return {**result.model_dump(mode="json"), "session": handle}
    if isinstance(result, Mapping):
        return {**result, "session": handle}
    return result


def _find_handle(scope: Scope, cookie_name: str) -> tuple[str | None, bytes | None]:
    """The session handle (the header wins over the cookie) and the rollout's deadline header, if sent."""
    cookie: bytes | None = None
    handle: str | None = None
    deadline: bytes | None = None
    for name, value in scope["headers"]:
        if name == _SESSION_HEADER_BYTES:
            handle = value.decode("latin-1")
        elif name == b"cookie":
            cookie = value
        elif name == _DEADLINE_HEADER_BYTES:
            deadline = value
    if handle is None and cookie is not None:
        handle = cookie_parser(cookie.decode("latin-1")).get(cookie_name)
    return handle, deadline
