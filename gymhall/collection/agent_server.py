"""Serve an `Agent` over HTTP with NeMo Gym's agent routes.

- `POST /run`: one dataset row → seed, loop, verify, close → the rollout's line. A failed rollout
  is answered 200 with `status: "failed"`, its typed `failure` and NeMo Gym's `_ng_failure_class`,
  so a collector records it instead of aborting (NeMo Gym's collector stops on any non-2xx).
- `POST /v1/responses`: the loop alone, on a resources-server session the caller already seeded;
  its cookies (or `x-gymhall-session` header) come in with the request and go back on the answer.
- `POST /aggregate_metrics`, `GET /`.

`POST /run` is served straight from the ASGI messages, before Starlette's middleware and router
(which cost about a tenth of the agent's CPU per rollout on workload E); the other routes, and the
app mounted under a prefix, take Starlette's ordinary path.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gymhall.client.resources import AsyncResourcesSession
from gymhall.collection.agent import Agent, RolloutError
from gymhall.wire.aggregation import aggregate_metrics
from gymhall.wire.contract import FAILURE_CLASS_KEY, SESSION_HEADER, failure_class

__all__ = ["build_agent_app"]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


async def _body(request: Request) -> dict[str, Any] | Response:
    return _parse(await request.body())


def _parse(raw: bytes) -> dict[str, Any] | Response:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _json({"detail": f"The body is not valid JSON: {exc}.", "error": "validation_error"}, 422)
    if not isinstance(body, dict):
        return _json({"detail": "The body must be a JSON object.", "error": "validation_error"}, 422)
    return body


def build_agent_app(agent: Agent) -> Starlette:
    """A Starlette app serving `agent`; its resources client and model are closed when the app stops."""

    async def health(request: Request) -> Response:
        return _json({"status": "ok"})

    async def run(request: Request) -> Response:
        return await _run(agent, await _body(request))

    async def responses(request: Request) -> Response:
        params = await _body(request)
        if isinstance(params, Response):
            return params
        session = AsyncResourcesSession(agent.resources, {})
        session.handle = request.headers.get(SESSION_HEADER)
        session.cookies = dict(request.cookies)
        try:
            episode = await agent.respond(session, {"responses_create_params": params})
        except RolloutError as exc:
            failure = exc.failure
            error = {"message": failure.error, "type": failure_class(failure.stage), "retryable": failure.retryable}
            return _json({"error": error}, 502)
        except TimeoutError:
            return _json({"error": {"message": "the episode's deadline passed", "type": "timeout"}}, 504)
        response = _json(episode)
        for name, value in session.cookies.items():
            response.set_cookie(name, value, httponly=True, samesite="lax")
        return response

    async def metrics(request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, Response):
            return body
        return _json(aggregate_metrics(list(body.get("verify_responses") or [])))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await agent.resources.aclose()
            await agent.model.aclose()

    routes = [
        Route("/", health, methods=["GET"]),
        Route("/run", run, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/aggregate_metrics", metrics, methods=["POST"]),
    ]
    return _AgentApp(agent, routes=routes, lifespan=lifespan)


async def _run(agent: Agent, row: dict[str, Any] | Response) -> Response:
    if isinstance(row, Response):
        return row
    if not isinstance(row.get("responses_create_params"), dict):
        detail = "The row needs responses_create_params (an object with input)."
        return _json({"detail": detail, "error": "validation_error"}, 422)
    line = await agent.run(row)
    if line.get("status") == "failed":
        line[FAILURE_CLASS_KEY] = failure_class(line["failure"]["stage"])
    return _json(line)


class _AgentApp(Starlette):
    """The agent's Starlette app, with `POST /run` served before the middleware stack."""

    def __init__(self, agent: Agent, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agent = agent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/run" and scope["method"] == "POST":
            chunks = []
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client left: nobody to run the rollout for
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            response = await _run(self.agent, _parse(b"".join(chunks)))
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
