"""`McpEnvironment` over the example stdio MCP server: tools, calls, errors, verify, and no leaked processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from gymhall.client.resources import AsyncResourcesClient
from gymhall.exceptions import ServerError
from gymhall.mcp.environment import McpEnvironment, McpEnvironmentConfig
from gymhall.mcp.schemas import JSON_TEXT_NOTE, from_model_arguments, strict_input_schema
from gymhall.server.environment import build_app
from gymhall.testing import client_for, make_response

NOTES = Path(__file__).resolve().parents[2] / "examples" / "mcp_notes"
ROW = {
    "responses_create_params": {"input": "x"},
    "mcp_setup": [{"name": "add_note", "arguments": {"title": "a", "body": "b"}}],
    "expected": {"kind": "create", "title": "c", "body": "d", "tag": "home"},
}


def notes_servers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if any("server.py" in a for a in p.cmdline())]


@pytest.fixture(scope="module")
def env() -> McpEnvironment:
    sys.path.insert(0, str(NOTES))
    config = McpEnvironmentConfig(
        name="notes", command=["python", str(NOTES / "server.py")], verify="grading:verify", call_timeout_s=30
    )
    environment = McpEnvironment(config)
    environment.tools()  # listed once, here
    return environment


def test_strict_schemas_for_what_strict_mode_cannot_say() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "meta": {"type": "object"}, "tag": {"type": "string"}},
        "required": ["n", "meta"],
    }
    strict = strict_input_schema(schema)
    assert strict["required"] == ["n", "meta", "tag"] and strict["additionalProperties"] is False
    assert (
        strict["properties"]["meta"]["type"] == "string"
        and JSON_TEXT_NOTE in strict["properties"]["meta"]["description"]
    )
    assert strict["properties"]["tag"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert from_model_arguments(schema, {"n": 1, "meta": '{"k": [1]}', "tag": None}) == {"n": 1, "meta": {"k": [1]}}


async def test_tools_calls_errors_and_verify(env: McpEnvironment) -> None:
    async with client_for(env) as client:
        schemas = {s["name"]: s for s in await client.list_tools()}
        assert set(schemas) == {"add_note", "list_notes", "read_note", "tag_note", "append_to_note", "delete_note"}
        assert all(s["strict"] and s["parameters"]["additionalProperties"] is False for s in schemas.values())
        async with await client.seed_session(ROW) as session:
            assert await session.call("add_note", title="c", body="d", tags=["home"]) == {"id": 2}
            with pytest.raises(ServerError, match="No note has id 9") as refused:
                await session.call("read_note", note_id=9)
            assert refused.value.status_code == 400
            with pytest.raises(ServerError) as invalid:
                await session.call("read_note", note_id="nine")
            assert invalid.value.status_code == 422
            assert (await session.verify(make_response("2")))["reward"] == 1.0
        async with await client.seed_session(ROW) as other:  # its own process: the store starts from the setup
            assert (await other.call("list_notes", tag=None))["notes"] == [{"id": 1, "title": "a", "tags": []}]
            assert (await other.verify(make_response("2")))["reward"] == 0.0


async def test_closing_a_session_and_shutting_down_end_the_processes(env: McpEnvironment) -> None:
    before = {p.pid for p in notes_servers()}
    async with AsyncResourcesClient.for_app(build_app(env), owns_app=True) as client:  # closing it shuts the app down
        first = await client.seed_session(ROW)
        second = await client.seed_session(ROW)
        started = [p for p in notes_servers() if p.pid not in before]
        assert len(started) == 2
        await first.close()
        psutil.wait_procs(started, timeout=10)
        assert sum(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in started) <= 1
        del second  # left open: the shutdown below must end it
    gone, alive = psutil.wait_procs(started, timeout=10)
    assert not alive


def test_a_killed_parent_takes_its_stdio_servers_with_it() -> None:
    code = (
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(NOTES)!r})\n"
        "from gymhall.mcp.environment import McpEnvironment, McpEnvironmentConfig\n"
        "from gymhall.testing import client_for\n"
        f"env = McpEnvironment(McpEnvironmentConfig(name='n', command=['python', {str(NOTES / 'server.py')!r}],"
        " verify='grading:verify'))\n"
        "async def main():\n"
        "    async with client_for(env) as client:\n"
        "        await client.seed_session({'responses_create_params': {'input': 'x'}})\n"
        "        print('seeded', flush=True)\n"
        "        await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "seeded"
        children = [p for p in psutil.Process(parent.pid).children(recursive=True) if p.is_running()]
        assert children
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
            p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in children
        ):
            time.sleep(0.1)
        assert not [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    finally:
        parent.kill()
