"""MCP exposure over real loopback HTTP, driven by the official MCP client: tools, sessions, errors, seed metadata."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from gymhall import Environment, ToolError, tool
from gymhall.exceptions import InvalidSessionHandle
from gymhall.mcp.exposure import McpExposure
from gymhall.mcp.token import MCP_SESSION_HEADER, SessionToken, TokenSigner
from gymhall.server.environment import build_app
from gymhall.testing import serve_in_thread


class Row(BaseModel):
    start: int = 0


class Count:
    def __init__(self, value: int) -> None:
        self.value = value


class Counter(Environment):
    async def seed_session(self, row: Row) -> Count:
        return Count(row.start)

    @tool
    async def increment(self, state: Count, by: int) -> dict[str, int]:
        """Add `by` to the counter."""
        if by < 0:
            raise ToolError("by must be 0 or more: the counter only counts up")
        state.value += by
        return {"value": state.value}

    async def verify(self, state: Count, body: Any) -> float:
        return 1.0


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app = McpExposure(build_app(Counter()), server_name="counter", class_name="Counter")
    with serve_in_thread(app) as base:
        yield base


@asynccontextmanager
async def mcp_session(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Any]:
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers=headers or {}) as http:
        async with streamable_http_client(url + "/mcp", http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


async def seed(url: str, row: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        answer = await client.post(url + "/seed_session", json=row)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def text(result: Any) -> str:
    return "".join(block.text for block in result.content)


def test_token_is_itsdangerous_urlsafe_serializer_byte_for_byte() -> None:
    # Made with itsdangerous 2.2.0: URLSafeSerializer("Counter___counter", salt="nemo-gym-mcp-session-token").
    signer = TokenSigner("Counter", "counter")
    short = "eyJzaWQiOiJhYmMuZGVmIiwidG9vbHMiOm51bGx9.kfCUyXDMPeK4LbTaJ5tEz2h_OiQ"
    assert signer.sign(SessionToken("abc.def")) == short
    assert signer.unsign(short) == SessionToken("abc.def")
    long_token = signer.sign(SessionToken("x" * 100, ("a", "b")))
    assert long_token.startswith(".")  # compressed, as itsdangerous does when it is shorter
    assert signer.unsign(long_token) == SessionToken("x" * 100, ("a", "b"))
    with pytest.raises(InvalidSessionHandle, match="did not sign"):
        TokenSigner("Other", "counter").unsign(short)


async def test_seed_answer_carries_nemo_gym_mcp_metadata(url: str) -> None:
    answer = await seed(url, {"start": 1})
    meta = answer["mcp"]
    assert meta["server_name"] == "counter" and meta["url_path"] == "/mcp" and meta["transport"] == "http"
    token = TokenSigner("Counter", "counter").unsign(meta["headers"][MCP_SESSION_HEADER])
    assert token.tools is None and token.sid == answer["session"]


async def test_tools_are_get_tools_schemas_and_calls_use_the_session(url: str) -> None:
    async with httpx.AsyncClient() as client:
        schemas = (await client.get(url + "/tools")).json()
    meta = (await seed(url, {"start": 5}))["mcp"]
    async with mcp_session(url, meta["headers"]) as session:
        tools = (await session.list_tools()).tools
        assert [(t.name, t.input_schema, t.description) for t in tools] == [
            (s["name"], s["parameters"], s["description"]) for s in schemas
        ]
        result = await session.call_tool("increment", {"by": 2})
        assert not result.is_error and result.structured_content == {"value": 7}
        assert (await session.call_tool("increment", {"by": 1})).structured_content == {"value": 8}


async def test_tool_errors_are_mcp_tool_errors_the_model_reads(url: str) -> None:
    meta = (await seed(url, {}))["mcp"]
    async with mcp_session(url, meta["headers"]) as session:
        refused = await session.call_tool("increment", {"by": -1})
        assert refused.is_error and "only counts up" in text(refused)
        invalid = await session.call_tool("increment", {"by": "two"})
        assert invalid.is_error and "422" in text(invalid) and "by" in text(invalid)
        unknown = await session.call_tool("decrement", {})
        assert unknown.is_error and text(unknown).startswith("Unknown tool: decrement")


async def test_session_rules_hold(url: str) -> None:
    async with mcp_session(url) as session:
        missing = await session.call_tool("increment", {"by": 1})
        assert missing.is_error and text(missing).startswith(f"Missing {MCP_SESSION_HEADER} for Gym MCP tool call.")
    forged = TokenSigner("Counter", "counter").sign(SessionToken("nosuch.session"))
    async with mcp_session(url, {MCP_SESSION_HEADER: forged}) as session:
        bad = await session.call_tool("increment", {"by": 1})
        assert bad.is_error and "signature" in text(bad)
    answer = await seed(url, {})
    async with httpx.AsyncClient() as client:
        closed = await client.post(url + "/close_session", headers={"x-gymhall-session": answer["session"]})
        assert closed.status_code == 200
    async with mcp_session(url, answer["mcp"]["headers"]) as session:
        gone = await session.call_tool("increment", {"by": 1})
        assert gone.is_error and ("404" in text(gone) or "410" in text(gone))


async def test_a_client_without_a_token_seeds_through_the_seed_tool(url: str) -> None:
    async with mcp_session(url) as session:
        assert "seed_session" in [t.name for t in (await session.list_tools()).tools]
        seeded = await session.call_tool("seed_session", {"row": {"start": 40}})
        assert not seeded.is_error
    headers = seeded.structured_content["headers"]
    async with mcp_session(url, headers) as session:
        assert "seed_session" not in [t.name for t in (await session.list_tools()).tools]
        assert (await session.call_tool("increment", {"by": 2})).structured_content == {"value": 42}


def test_plain_import_and_app_never_import_mcp() -> None:
    code = (
        "import sys, gymhall\n"
        "from gymhall import Environment, tool\n"
        "from gymhall.server.environment import build_app\n"
        "class E(Environment):\n"
        "    @tool\n"
        "    async def ping(self) -> str:\n"
        "        return 'pong'\n"
        "build_app(E())\n"
        "assert not [m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'mcp_types'))], 'mcp imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
