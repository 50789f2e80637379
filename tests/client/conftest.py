"""Fixtures shared by the resources-client tests: a counter environment and clients of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import BaseModel

from gymhall import BaseSeedSessionRequest, BaseVerifyRequest, Environment, tool
from gymhall.client.resources import AsyncResourcesClient, ResourcesClient
from gymhall.testing import client_for, serve_in_thread, sync_client_for


class CounterRow(BaseSeedSessionRequest):
    initial_count: int = 0


class CounterState(BaseModel):
    value: int


class Counter(Environment):
    async def seed_session(self, row: CounterRow) -> CounterState:
        return CounterState(value=row.initial_count)

    @tool
    async def increment(self, state: CounterState, by: int) -> dict[str, int]:
        """Add `by` to the counter."""
        state.value += by
        return {"value": state.value}

    @tool
    async def stall(self, seconds: float) -> dict[str, bool]:
        """Sleep, to test timeouts."""
        await asyncio.sleep(seconds)
        return {"slept": True}

    async def verify(self, state: CounterState, body: BaseVerifyRequest) -> float:
        return float(body.response.output_text.strip() == str(state.value))


@pytest.fixture
def counter_type() -> type[Environment]:
    """The counter environment: `increment(by)`, `stall(seconds)`, reward 1 when the answer is the count."""
    return Counter


@pytest.fixture
def counter_row_type() -> type[BaseSeedSessionRequest]:
    """The counter's dataset row: `initial_count`."""
    return CounterRow


@pytest.fixture(params=["in_process", "loopback"])
async def client(
    request: pytest.FixtureRequest, counter_type: type[Environment]
) -> AsyncIterator[AsyncResourcesClient]:
    if request.param == "in_process":
        async with client_for(counter_type()) as env:
            yield env
    else:
        with serve_in_thread(counter_type()) as url:
            async with AsyncResourcesClient(url, timeout=10) as env:
                yield env


@pytest.fixture(params=["in_process", "loopback"])
def sync_client(request: pytest.FixtureRequest, counter_type: type[Environment]) -> Iterator[ResourcesClient]:
    if request.param == "in_process":
        with sync_client_for(counter_type()) as env:
            yield env
    else:
        with serve_in_thread(counter_type()) as url, ResourcesClient(url, timeout=10) as env:
            yield env
