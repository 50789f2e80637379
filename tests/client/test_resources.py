"""`AsyncResourcesClient` and `ResourcesClient`, in process and over loopback HTTP: the client API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from types import ModuleType

import httpx
import pytest

from gymhall import (
    BaseResourcesServerConfig,
    BaseSeedSessionRequest,
    Environment,
    Response,
    ServerError,
    ServerUnreachable,
)
from gymhall.client.resources import AsyncResourcesClient, ResourcesClient
from gymhall.testing import client_for, make_response, make_row


async def test_list_tools(client: AsyncResourcesClient) -> None:
    tools = await client.list_tools()
    increment = next(t for t in tools if t["name"] == "increment")
    assert increment["type"] == "function"
    assert increment["strict"] is True
    assert increment["parameters"]["properties"] == {"by": {"type": "integer"}}
    assert await client.health() is True


async def test_seed_accepts_a_model_and_verify_a_response_model(
    client: AsyncResourcesClient, counter_row_type: type[BaseSeedSessionRequest]
) -> None:
    row = counter_row_type.model_validate(make_row("count", initial_count=7))
    async with await client.seed_session(row) as session:
        assert session.row == make_row("count", initial_count=7)
        assert await session.call("increment", by=1) == {"value": 8}
        result = await session.verify(Response.model_validate(make_response("8")))
        assert result["reward"] == 1.0


async def test_full_store_answers_503_with_retry_after(counter_type: type[Environment]) -> None:
    env = counter_type(BaseResourcesServerConfig(name="Counter", max_sessions=1))
    async with client_for(env) as client:
        await client.seed_session()
        with pytest.raises(ServerError) as caught:
            await client.seed_session()
    assert caught.value.status_code == 503
    assert caught.value.body["error"] == "server_busy"
    assert "retry after" in str(caught.value)


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_health_is_false_when_nothing_listens() -> None:
    async with AsyncResourcesClient(f"http://127.0.0.1:{_unused_port()}", timeout=2) as client:
        assert await client.health() is False


async def test_a_refused_connection_names_the_url_and_the_fix() -> None:
    url = f"http://127.0.0.1:{_unused_port()}"
    async with AsyncResourcesClient(url, timeout=2) as client:
        with pytest.raises(ServerUnreachable) as caught:
            await client.seed_session()
    error = caught.value
    assert error.url == url
    assert str(error).startswith(f"Cannot reach the resources server at {url}: POST /seed_session could not connect")
    assert "is the server running?" in str(error) and "`gymhall serve ENV`" in str(error)
    assert error.__cause__ is None and error.__suppress_context__  # raised from None: no httpx chain
    assert isinstance(error, httpx.ConnectError)  # transport handlers (retries, health) still see a refusal
    with ResourcesClient(url, timeout=2) as sync, pytest.raises(ServerUnreachable) as caught_sync:
        sync.list_tools()
    assert str(caught_sync.value).startswith(f"Cannot reach the resources server at {url}: GET /tools")
    assert caught_sync.value.__suppress_context__


def test_a_refused_connection_prints_a_short_traceback() -> None:
    url = f"http://127.0.0.1:{_unused_port()}"
    code = f"from gymhall import ResourcesClient\nResourcesClient({url!r}).seed_session()\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-2].startswith(f"gymhall.ServerUnreachable: Cannot reach the resources server at {url}:")
    assert "gymhall serve" in lines[-1]
    assert "httpx" not in result.stderr and "During handling" not in result.stderr, result.stderr
    assert len(lines) < 15, result.stderr


async def test_weather_example(weather_module: ModuleType) -> None:
    server = weather_module.WeatherResourcesServer(config=BaseResourcesServerConfig(name="weather"))
    async with client_for(server) as client:
        assert [t["name"] for t in await client.list_tools()] == ["get_weather"]
        async with await client.seed_session(make_row("What is the weather in Paris?")) as session:
            answer = await session.call("get_weather", city="Paris")
            assert answer == {"city": "Paris", "weather_description": "The weather in Paris is cold."}
            result = await session.verify(make_response("Cold."))
        assert result["reward"] == 1.0


def test_sync_round_trip(sync_client: ResourcesClient) -> None:
    assert sync_client.health() is True
    assert [t["name"] for t in sync_client.list_tools()] == ["increment", "stall"]
    with sync_client.seed_session(make_row(initial_count=1)) as session:
        assert session.handle is not None
        assert session.call("increment", {"by": 2}) == {"value": 3}
        assert session.call("increment", by=3) == {"value": 6}
        assert session.call("increment", '{"by": 4}') == {"value": 10}
        assert json.loads(session.call_text("increment", {"by": "x"}))["error"] == "validation_error"
        assert session.verify(make_response("10"))["reward"] == 1.0
    assert session.closed
    with pytest.raises(ServerError) as caught:
        session.call("increment", by=1)
    assert caught.value.status_code == 404
    assert session.close() is False
