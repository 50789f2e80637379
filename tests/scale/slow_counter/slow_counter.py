"""The counter, with a tool that takes `delay_s` seconds: rollouts long enough to kill a worker during them."""

import asyncio
from dataclasses import dataclass

from gymhall import BaseSeedSessionRequest, BaseVerifyRequest, Environment, tool


class SlowRow(BaseSeedSessionRequest):
    initial_count: int = 0
    delay_s: float = 0.0


@dataclass
class SlowState:
    value: int
    delay_s: float


class SlowCounter(Environment):
    domain = "games"

    async def seed_session(self, row: SlowRow) -> SlowState:
        return SlowState(row.initial_count, row.delay_s)

    @tool
    async def increment(self, state: SlowState, by: int) -> dict[str, int]:
        """Add `by` to the counter, slowly, and return its new value."""
        await asyncio.sleep(state.delay_s)
        state.value += by
        return {"value": state.value}

    async def verify(self, state: SlowState, body: BaseVerifyRequest) -> float:
        return float(body.response.output_text.strip() == str(state.value))
