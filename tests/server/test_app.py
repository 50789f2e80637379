"""The app's dispatch: exact-path routes before the middleware stack, and the FastAPI path when there is middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import Request

from gymhall.server.app import GymApp


async def test_user_middleware_takes_the_fastapi_path_with_same_semantics(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    app = make_app()
    seen: list[str] = []

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        seen.append(request.url.path)
        return await call_next(request)

    async with client(app) as c:
        await seeded(c)
        assert (await c.post("/note", json={"text": "a"})).status_code == 200
        c.cookies.clear()
        assert (await c.post("/note", json={"text": "a"})).status_code == 400
    assert seen == ["/seed_session", "/note", "/note"]


async def test_nemo_gym_rollout_prefix_is_stripped(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/ng-rollout/0-1/note", json={"text": "a"})
        assert r.status_code == 200 and r.json()["text"] == "a"


async def test_unknown_route_is_404_and_health_ok(
    make_app: Callable[..., GymApp], client: Callable[[GymApp], httpx.AsyncClient]
) -> None:
    async with client(make_app()) as c:
        assert (await c.get("/")).json() == {"status": "ok"}
        assert (await c.post("/nope", json={})).status_code == 404
