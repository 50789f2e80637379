"""Fixtures shared by the server tests: `Probe`, a seed-style server with one endpoint per case, and its app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

from gymhall import (
    SESSION_ID_KEY,
    BaseResourcesServerConfig,
    BaseVerifyRequest,
    BaseVerifyResponse,
    SimpleResourcesServer,
    ToolError,
)
from gymhall.exceptions import JudgeError
from gymhall.server.app import GymApp

ROW = {"responses_create_params": {"input": [{"role": "user", "content": "hi"}]}}


class Note(BaseModel):
    text: str


class Probe(SimpleResourcesServer):
    log: list[str] = []

    def setup_webserver(self) -> FastAPI:
        app = super().setup_webserver()
        app.post("/note")(self.note)
        app.post("/slow_note")(self.slow_note)
        app.post("/boom")(self.boom)
        app.post("/refuse")(self.refuse)
        app.post("/http_error")(self.http_error)
        app.post("/sync_note")(self.sync_note)
        app.post("/query_tool")(self.query_tool)
        return app

    async def note(self, request: Request, body: Note) -> dict[str, Any]:
        return {"session": request.session[SESSION_ID_KEY], "text": body.text}

    async def slow_note(self, request: Request, body: Note) -> dict[str, Any]:
        self.log.append(f"start {body.text}")
        await asyncio.sleep(0.02)
        self.log.append(f"end {body.text}")
        return {"text": body.text}

    async def boom(self, body: Note) -> None:
        raise ValueError(f"cannot handle {body.text}")

    async def refuse(self, body: Note) -> None:
        raise ToolError(f"{body.text!r} is not a word; guess a 5-letter word")

    async def http_error(self, body: Note) -> None:
        raise HTTPException(status_code=409, detail="conflict here")

    def sync_note(self, body: Note) -> dict[str, str]:
        return {"text": body.text.upper()}

    async def query_tool(self, request: Request, limit: int = 3) -> dict[str, Any]:
        return {"limit": limit, "session": request.session.get(SESSION_ID_KEY)}

    async def verify(self, body: BaseVerifyRequest) -> BaseVerifyResponse:
        if body.response.output_text == "crash":
            raise RuntimeError("verifier broke")
        if body.response.output_text == "judge":
            raise JudgeError("the judge answered HTTP 503")
        return BaseVerifyResponse(**body.model_dump(), reward=1.0)


def _make_app(**settings: Any) -> GymApp:
    app = Probe(config=BaseResourcesServerConfig(name="probe", **settings), log=[]).setup_webserver()
    assert isinstance(app, GymApp)
    return app


def _client(app: GymApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")


async def _seeded(c: httpx.AsyncClient) -> str:
    r = await c.post("/seed_session", json=ROW)
    assert r.status_code == 200
    return str(r.json()["session"])


@pytest.fixture
def make_app() -> Callable[..., GymApp]:
    """`make_app(**settings)`: a fresh `Probe` app; settings are `BaseResourcesServerConfig` fields."""
    return _make_app


@pytest.fixture
def client() -> Callable[[GymApp], httpx.AsyncClient]:
    """`client(app)`: an httpx client calling `app` in process."""
    return _client


@pytest.fixture
def seeded() -> Callable[[httpx.AsyncClient], Awaitable[str]]:
    """`await seeded(c)`: seed a session through `c` (its cookie jar keeps the handle) and return the handle."""
    return _seeded
