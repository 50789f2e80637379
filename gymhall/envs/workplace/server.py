"""`workplace`: an office assistant's sandbox: emails, a calendar and contacts in a per-session SQLite database.

Each session loads the world of its row's `world_seed` (see `world.py`) into its own in-memory
database; twelve tools read and change it. Verify replays the row's `ground_truth` calls on a fresh
copy of the same world and compares the tables with the session's (order-insensitive, ignoring ids,
case and spacing); the final answer must also name the row's `expected_answer`, a value the
episode's tool results showed. Reward is 1.0 when all three hold, else 0.0.

This module wires the parts together: the tools come from `contacts.py`, `emails.py` and
`events.py`, the session state from `state.py`, grading from `grading.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from gymhall.envs.workplace.config import WorkplaceConfig
from gymhall.envs.workplace.contacts import ContactTools
from gymhall.envs.workplace.emails import EmailTools
from gymhall.envs.workplace.events import EventTools
from gymhall.envs.workplace.grading import grade, replay, strings_in
from gymhall.envs.workplace.rows import GroundTruthCall, WorkplaceRow, WorkplaceVerifyRequest
from gymhall.envs.workplace.state import WorkplaceState, fresh_state

__all__ = [
    "GroundTruthCall",
    "Workplace",
    "WorkplaceConfig",
    "WorkplaceRow",
    "WorkplaceState",
    "WorkplaceVerifyRequest",
    "strings_in",
]


# The bases are listed calendar, email, contacts because tools are collected from the MRO reversed:
# this keeps the tools in the order contacts, email, calendar that the dataset rows' `tools` list has.
class Workplace(EventTools, EmailTools, ContactTools):
    """Emails, calendar and contacts of one office worker, in a per-session SQLite database.

    The tools change the database; verify compares it with the state the row's ground truth
    produces, and checks the final answer names the row's expected answer.
    """

    config_class = WorkplaceConfig
    domain = "agent"
    config: WorkplaceConfig

    async def seed_session(self, row: WorkplaceRow) -> WorkplaceState:
        return await asyncio.to_thread(self.new_state, row.world_seed)

    async def fork(self, state: WorkplaceState) -> WorkplaceState:
        return await asyncio.to_thread(state.copy)

    async def on_session_close(self, state: WorkplaceState | None) -> None:
        if state is not None:
            await asyncio.to_thread(state.close)

    @staticmethod
    def new_state(seed: int) -> WorkplaceState:
        """A state holding a fresh database of the world of `seed`."""
        return fresh_state(seed)

    async def verify(self, state: WorkplaceState | None, body: WorkplaceVerifyRequest) -> dict[str, float]:
        """Reward 1.0 when the database matches the ground truth's and the answer names the expected value.

        Without a session (stateless reverify), the response's own tool calls are replayed on a
        fresh world in place of the session's database.
        """
        return await asyncio.to_thread(grade, self, state, body)

    def replay(self, state: WorkplaceState, calls: Iterable[tuple[str, Any]], *, strict: bool) -> list[Any]:
        """Make `calls` (tool name, arguments as JSON text or a mapping) on `state`, as the HTTP routes would.

        Returns each call's result (None for a refused one). With `strict`, a call that is refused
        raises `InvalidBody`: the ground truth of a row must apply cleanly to its world.
        """
        return replay(self, state, calls, strict=strict)
