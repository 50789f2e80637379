"""The seed style: `SimpleResourcesServer`, and its opt-in to `POST /fork_session`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from gymhall import BaseVerifyRequest, BaseVerifyResponse, ServerError, SimpleResourcesServer
from gymhall.testing import client_for
from gymhall.wire.contract import SESSION_ID_KEY

ROW = {"responses_create_params": {"input": "count"}}


class Tally(SimpleResourcesServer):
    """Keeps each session's tally in a dict under the session id, as NeMo Gym's servers do."""

    tallies: dict[str, int] = {}

    def setup_webserver(self) -> FastAPI:
        app = super().setup_webserver()
        app.post("/add")(self.add)
        return app

    async def add(self, request: Request) -> int:
        key = request.session[SESSION_ID_KEY]
        self.tallies[key] = self.tallies.get(key, 0) + 1
        return self.tallies[key]

    async def verify(self, body: BaseVerifyRequest) -> BaseVerifyResponse:
        return BaseVerifyResponse(**body.model_dump(), reward=1.0)


class ForkingTally(Tally):
    async def fork_session(self, parent_id: str, child_id: str) -> None:
        self.tallies[child_id] = self.tallies.get(parent_id, 0)


async def test_a_seed_style_server_that_does_not_opt_in_answers_501_and_keeps_the_session() -> None:
    async with client_for(Tally()) as client, await client.seed_session(ROW) as session:
        await session.call("add")
        try:
            await session.fork(2)
        except ServerError as exc:
            refused: Any = exc
        assert refused.status_code == 501 and "fork_session(parent_id, child_id)" in str(refused)
        assert await session.call("add") == 2


async def test_a_seed_style_server_forks_by_copying_what_it_keeps_under_the_session_id() -> None:
    async with client_for(ForkingTally(tallies={})) as client, await client.seed_session(ROW) as session:
        await session.call("add")
        children = await session.fork(2)
        assert [await child.call("add") for child in children] == [2, 2]
        assert await session.call("add") == 2 and await children[0].call("add") == 3
        for child in children:
            assert await child.close()
