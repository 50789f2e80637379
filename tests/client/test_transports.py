"""The in-process transports: `AsyncResourcesClient.for_app` and `ResourcesClient.for_app`."""

from __future__ import annotations

import httpx
import pytest

from gymhall import Environment
from gymhall.testing import client_for, sync_client_for


async def test_in_process_calls_have_a_timeout(counter_type: type[Environment]) -> None:
    async with client_for(counter_type(), timeout=0.2) as client:
        async with await client.seed_session() as session:
            with pytest.raises(httpx.ReadTimeout):
                await session.call("stall", seconds=5)
            assert await session.call("stall", seconds=0) == {"slept": True}


def test_sync_for_app_uses_no_thread(counter_type: type[Environment]) -> None:
    import threading

    before = set(threading.enumerate())
    with sync_client_for(counter_type()) as client, client.seed_session() as session:
        assert session.call("increment", by=1) == {"value": 1}
        assert set(threading.enumerate()) == before


async def test_sync_for_app_refuses_a_running_loop(counter_type: type[Environment]) -> None:
    with sync_client_for(counter_type()) as client, pytest.raises(RuntimeError, match="AsyncResourcesClient"):
        client.health()
