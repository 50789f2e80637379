"""Request bodies on the short path: the size limit and validation failures that name the field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from gymhall.server.app import GymApp


@pytest.mark.parametrize(
    ("body", "field"),
    [(b'{"txt": "a"}', "text"), (b'{"text": 5}', "text"), (b"{not json", "(the body)"), (b"[1, 2]", "(the body)")],
)
async def test_malformed_bodies_get_422_naming_the_field(
    body: bytes,
    field: str,
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/note", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422
        data = r.json()
        assert data["error"] == "validation_error"
        assert f"field {field!r}" in data["message"]
        assert data["detail"][0]["loc"][0] == "body"


async def test_oversized_body_gets_413(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app(max_body_bytes=100)) as c:
        await seeded(c)
        r = await c.post("/note", json={"text": "x" * 200})
        assert r.status_code == 413
        assert "max_body_bytes" in r.json()["detail"]
