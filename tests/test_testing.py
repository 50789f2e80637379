"""`gymhall.testing`: in-process clients, `serve_in_thread` and the test-data factories."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gymhall import (
    BaseResourcesServerConfig,
    BaseRunRequest,
    BaseVerifyRequest,
    Environment,
    Response,
    build_app,
    tool,
)
from gymhall.testing import (
    client_for,
    function_call,
    function_call_output,
    make_response,
    make_row,
    serve_in_thread,
    sync_client_for,
)


class Echo(Environment):
    """Remembers what each closed session said, to observe the session reaper."""

    def __init__(self, config: BaseResourcesServerConfig | None = None) -> None:
        super().__init__(config)
        self.closed: list[Any] = []

    async def seed_session(self, row: Any) -> list[str]:
        return []

    @tool
    async def say(self, state: list[str], text: str) -> dict[str, list[str]]:
        """Say `text`."""
        state.append(text)
        return {"said": state}

    async def verify(self, state: list[str], body: BaseVerifyRequest) -> float:
        return float(body.response.output_text in state)

    async def on_session_close(self, state: Any) -> None:
        self.closed.append(state)


def test_make_response_is_a_valid_response() -> None:
    response = Response.model_validate(make_response("42"))
    assert response.output_text == "42"
    assert response.id == "resp_test"
    assert Response.model_validate(make_response()).output_text == ""


def test_make_response_with_tool_items() -> None:
    items = [function_call("say", {"text": "hi"}, "call_1"), function_call_output("call_1", {"said": ["hi"]})]
    raw = make_response("done", output=items, model="my-model")
    assert raw["model"] == "my-model"
    assert [item["type"] for item in raw["output"]] == ["function_call", "function_call_output", "message"]
    assert raw["output"][0]["arguments"] == '{"text": "hi"}'
    assert raw["output"][1]["output"] == '{"said": ["hi"]}'
    response = Response.model_validate(raw)
    assert response.output_text == "done"
    # With tool items and no text, no final message is added.
    assert [item["type"] for item in make_response(output=items)["output"]] == [
        "function_call",
        "function_call_output",
    ]
    assert function_call("say", '{"text": "raw"}')["arguments"] == '{"text": "raw"}'
    assert function_call_output("call_1", "plain")["output"] == "plain"


def test_make_row() -> None:
    tool_schema = {"type": "function", "name": "say", "parameters": {"type": "object"}, "strict": True}
    row = make_row("Say hi.", tools=[tool_schema], expected="hi")
    assert row == {"responses_create_params": {"input": "Say hi.", "tools": [tool_schema]}, "expected": "hi"}
    parsed = BaseRunRequest.model_validate(row)
    assert parsed.responses_create_params.input == "Say hi."
    assert make_row() == {"responses_create_params": {"input": ""}}
    request = BaseVerifyRequest.model_validate({**make_row("q"), "response": make_response("a")})
    assert request.response.output_text == "a"


async def _said(app: Any) -> float:
    async with client_for(app) as client, await client.seed_session(make_row("Say hi.")) as session:
        assert await session.call("say", text="hi") == {"said": ["hi"]}
        result = await session.verify(make_response("hi"))
    reward: float = result["reward"]
    return reward


async def test_client_for_accepts_an_environment_or_its_app() -> None:
    assert await _said(Echo()) == 1.0
    assert await _said(build_app(Echo())) == 1.0


async def test_client_for_accepts_a_seed_style_server(weather_module: ModuleType) -> None:
    server = weather_module.WeatherResourcesServer(config=BaseResourcesServerConfig(name="weather"))
    async with client_for(server) as client:
        assert [t["name"] for t in await client.list_tools()] == ["get_weather"]


def test_client_for_refuses_what_is_not_an_app() -> None:
    with pytest.raises(TypeError, match=r"Echo\(\), not Echo"):
        client_for(Echo)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not int"):
        client_for(3)  # type: ignore[arg-type]


def test_sync_client_for() -> None:
    with sync_client_for(Echo()) as client, client.seed_session() as session:
        assert session.call("say", text="x") == {"said": ["x"]}


def test_serve_in_thread_serves_and_stops() -> None:
    with serve_in_thread(Echo()) as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "/").json() == {"status": "ok"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", timeout=2)


def test_serve_in_thread_runs_the_lifespan() -> None:
    # The session reaper runs in the lifespan: a session left alone expires and is closed without any request.
    env = Echo(BaseResourcesServerConfig(name="Echo", session_ttl_seconds=0.1, reaper_interval_seconds=0.02))
    with serve_in_thread(env) as url:
        seeded = httpx.post(url + "/seed_session", json={})
        assert seeded.status_code == 200
        deadline = time.monotonic() + 5
        while not env.closed and time.monotonic() < deadline:
            time.sleep(0.02)
    assert env.closed == [[]]


def test_serve_in_thread_reports_a_failed_startup() -> None:
    @contextlib.asynccontextmanager
    async def failing(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    started = time.monotonic()
    with (
        pytest.raises(RuntimeError, match="stopped during startup"),
        serve_in_thread(Starlette(lifespan=failing)),
    ):
        pass
    assert time.monotonic() - started < 5


async def test_serve_in_thread_with_the_async_client() -> None:
    from gymhall import AsyncResourcesClient

    with serve_in_thread(Echo()) as url:
        async with AsyncResourcesClient(url, timeout=10) as client:

            async def one(index: int) -> list[str]:
                async with await client.seed_session() as session:
                    said: list[str] = (await session.call("say", text=str(index)))["said"]
                    return said

            assert await asyncio.gather(*(one(i) for i in range(5))) == [[str(i)] for i in range(5)]


def test_importing_testing_loads_no_web_stack() -> None:
    code = (
        "import sys, gymhall.testing; "
        "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn', 'httpx') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
