"""Plays a row's solution through the agent's own loop and the replay model, as `gymhall collect` would."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gymhall.client.resources import AsyncResourcesClient, AsyncResourcesSession
from gymhall.collection.agent import Agent
from gymhall.models.replay import ReplayModel

__all__ = ["Episode", "Player"]

_STEPS = 64  # enough for any reference solution; the replay model ends when its solution does


@dataclass(frozen=True)
class Episode:
    """What one played solution gave: the tool outputs in order and the verify response."""

    outputs: tuple[str, ...]
    verified: Mapping[str, Any]

    @property
    def reward(self) -> float:
        return float(self.verified.get("reward", float("nan")))


class Player:
    """Plays solutions on sessions with the agent's loop and the replay model."""

    def __init__(self, client: AsyncResourcesClient) -> None:
        self.client = client
        self.agent = Agent(client, ReplayModel(), max_steps=_STEPS, timeout_s=60.0)

    async def seed(self, row: Mapping[str, Any]) -> AsyncResourcesSession:
        """A new session seeded with `row`."""
        return await self.client.seed_session(dict(row))

    async def play_on(self, session: AsyncResourcesSession, row: Mapping[str, Any]) -> Episode:
        """Play the row's `reference_solution` on `session`, then verify it."""
        response = await self.agent.respond(session, row)
        outputs = tuple(
            str(item.get("output"))
            for item in response.get("output", [])
            if isinstance(item, Mapping) and item.get("type") == "function_call_output"
        )
        return Episode(outputs, await session.verify(response))

    async def play(self, row: Mapping[str, Any]) -> Episode:
        """Play the row's `reference_solution` on a session of its own, closed afterwards."""
        async with await self.seed(row) as session:
            return await self.play_on(session, row)
