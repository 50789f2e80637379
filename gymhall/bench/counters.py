"""Workload R's counter environment, written in both styles, for `gymhall bench resources`.

Tool `increment {"by": int}` adds to the session's counter; verify gives 1.0 when the final
assistant message's text equals the counter. Each module-level factory builds a fresh app, for
`uvicorn --factory`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel

from gymhall.config.settings import BaseResourcesServerConfig
from gymhall.server.app import GymApp
from gymhall.server.environment import Environment, build_app
from gymhall.server.simple import SimpleResourcesServer
from gymhall.server.tools import tool
from gymhall.wire.contract import SESSION_ID_KEY
from gymhall.wire.schemas import (
    BaseSeedSessionRequest,
    BaseSeedSessionResponse,
    BaseVerifyRequest,
    BaseVerifyResponse,
)

__all__ = ["CounterEnvironment", "SeedCounterServer", "seed_style_app", "short_style_app"]


class CounterRow(BaseSeedSessionRequest):
    initial_count: int = 0


class IncrementRequest(BaseModel):
    by: int


class IncrementResponse(BaseModel):
    count: int


class SeedCounterServer(SimpleResourcesServer):
    """The counter in the seeds' style: routes in `setup_webserver`, state in a dict keyed by session id."""

    counters: dict[str, int] = {}

    def setup_webserver(self) -> FastAPI:
        app = super().setup_webserver()
        app.post("/increment")(self.increment)
        return app

    async def seed_session(self, request: Request, body: CounterRow) -> BaseSeedSessionResponse:  # type: ignore[override]
        self.counters[request.session[SESSION_ID_KEY]] = body.initial_count
        return BaseSeedSessionResponse()

    async def increment(self, request: Request, body: IncrementRequest) -> IncrementResponse:
        """Add `by` to the counter and return its new value."""
        session_id = request.session[SESSION_ID_KEY]
        self.counters[session_id] += body.by
        return IncrementResponse(count=self.counters[session_id])

    async def verify(self, request: Request, body: BaseVerifyRequest) -> BaseVerifyResponse:  # type: ignore[override]
        count = self.counters.get(request.session.get(SESSION_ID_KEY, ""))
        reward = float(count is not None and body.response.output_text.strip() == str(count))
        return BaseVerifyResponse(**body.model_dump(), reward=reward)

    async def on_session_close(self, session_id: str) -> None:
        self.counters.pop(session_id, None)


class Counter:
    """The counter's per-session state."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value


class CounterEnvironment(Environment):
    """The counter in the short style: a typed state object handed to the tool and to verify."""

    domain = "games"

    async def seed_session(self, row: CounterRow) -> Counter:
        return Counter(row.initial_count)

    @tool
    async def increment(self, state: Counter, by: int) -> dict[str, Any]:
        """Add `by` to the counter and return its new value."""
        state.value += by
        return {"count": state.value}

    async def verify(self, state: Counter, body: BaseVerifyRequest) -> float:
        return float(body.response.output_text.strip() == str(state.value))


def _config() -> BaseResourcesServerConfig:
    return BaseResourcesServerConfig(name="counter", max_sessions=1_000_000)


def seed_style_app() -> GymApp:
    """A fresh app of the seed-style counter."""
    app = SeedCounterServer(config=_config(), counters={}).setup_webserver()
    assert isinstance(app, GymApp)
    return app


def short_style_app() -> GymApp:
    """A fresh app of the short-style counter."""
    return build_app(CounterEnvironment(_config()))
