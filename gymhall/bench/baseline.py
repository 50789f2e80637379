"""Bare-Starlette floor for ``gymhall bench resources``.

The smallest honest Starlette app serving the counter workload (seed -> increment x K -> verify ->
close). ``gymhall bench`` reports gymhall's own throughput as a ratio to this app, so it does only
what the workload strictly needs: a dict keyed by a random cookie value, ``orjson`` in and out.
It is deliberately without cookie signing, request validation, size or session limits, and
pydantic — everything gymhall adds on top is what the ratio measures. Do not serve it for real.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["COOKIE_NAME", "app", "create_app", "final_output_text"]

COOKIE_NAME = "baseline_session"
_JSON = "application/json"


def final_output_text(response: Any) -> str | None:
    """Text of the last assistant message in a Responses-API object, or None if there is none."""
    output = response.get("output") if isinstance(response, dict) else None
    if not isinstance(output, list):
        return None
    for item in reversed(output):
        if isinstance(item, dict) and item.get("type") == "message" and item.get("role") == "assistant":
            content = item.get("content")
            if not isinstance(content, list):
                return None
            return "".join(
                part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "output_text"
            )
    return None


def _json(payload: Any, sid: str | None = None, status_code: int = 200) -> Response:
    # Re-send the session cookie on every response, like the servers being compared.
    headers = {"set-cookie": f"{COOKIE_NAME}={sid}; Path=/; HttpOnly; SameSite=lax"} if sid else None
    return Response(orjson.dumps(payload), status_code=status_code, media_type=_JSON, headers=headers)


def _error(status_code: int, detail: str) -> Response:
    return _json({"detail": detail}, status_code=status_code)


async def _body(request: Request) -> Any:
    return orjson.loads(await request.body())


def create_app() -> Starlette:
    """Build a fresh baseline app with its own (empty) session dict."""
    sessions: dict[str, int] = {}

    async def seed_session(request: Request) -> Response:
        try:
            row = await _body(request)
        except orjson.JSONDecodeError:
            return _error(400, "body is not JSON")
        sid = secrets.token_urlsafe(16)
        sessions[sid] = int(row.get("initial_count", 0)) if isinstance(row, dict) else 0
        return _json({}, sid)

    async def increment(request: Request) -> Response:
        sid = request.cookies.get(COOKIE_NAME)
        if sid is None or sid not in sessions:
            return _error(404, "unknown session")
        try:
            args = await _body(request)
        except orjson.JSONDecodeError:
            return _error(400, "body is not JSON")
        count = sessions[sid] = sessions[sid] + (args.get("by", 1) if isinstance(args, dict) else 1)
        return _json({"count": count}, sid)

    async def verify(request: Request) -> Response:
        sid = request.cookies.get(COOKIE_NAME)
        if sid is None or sid not in sessions:
            return _error(404, "unknown session")
        try:
            body = await _body(request)
        except orjson.JSONDecodeError:
            return _error(400, "body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "body is not a JSON object")
        text = final_output_text(body.get("response"))
        reward = 1.0 if text == str(sessions[sid]) else 0.0
        # Echo the request plus the reward, as NeMo Gym's verify responses do.
        return _json({**body, "reward": reward}, sid)

    async def close_session(request: Request) -> Response:
        sid = request.cookies.get(COOKIE_NAME)
        if sid is not None:
            sessions.pop(sid, None)
        return _json({}, sid)

    async def health(request: Request) -> Response:
        return _json({"status": "ok"})

    return Starlette(
        routes=[
            Route("/seed_session", seed_session, methods=["POST"]),
            Route("/increment", increment, methods=["POST"]),
            Route("/verify", verify, methods=["POST"]),
            Route("/close_session", close_session, methods=["POST"]),
            Route("/", health, methods=["GET"]),
        ]
    )


app = create_app()
