"""Load generator and bare-Starlette baseline: real loopback HTTP against a uvicorn child, no mocks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from gymhall.bench import loadgen
from gymhall.bench.baseline import COOKIE_NAME, create_app
from gymhall.bench.loadgen import (
    SEED_ROW,
    LoadSpec,
    run_load,
    run_load_sync,
)
from gymhall.bench.process import ServerProcess, start_server


def _response_with_text(text: str) -> dict[str, Any]:
    return {
        "id": "resp_test",
        "created_at": 0,
        "model": "test",
        "object": "response",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "tools": [],
    }


# --- load generator over real loopback HTTP ---------------------------------------------------


@pytest.mark.slow
def test_small_load_against_baseline_is_exact(baseline_server: ServerProcess) -> None:
    k = 3
    spec = LoadSpec(url=baseline_server.url, concurrency=4, tool_calls=k, episodes=40, duration_s=5.0, warmup_s=0.0)
    result = run_load_sync(spec)
    assert result.error_samples == []
    assert result.episodes == 40
    assert result.errors == 0
    assert result.wrong_rewards == 0
    assert result.requests == 40 * (k + 3)  # seed + K tool calls + verify + close
    assert result.elapsed_s > 0
    assert result.episodes_per_s > 0
    assert 0 < result.p50_ms <= result.p99_ms


@pytest.mark.slow
async def test_run_load_on_default_asyncio_loop_without_close(baseline_server: ServerProcess) -> None:
    spec = LoadSpec(
        url=baseline_server.url,
        concurrency=3,
        tool_calls=2,
        episodes=9,
        duration_s=5.0,
        warmup_s=0.0,
        close_sessions=False,
    )
    result = await run_load(spec)
    assert (result.episodes, result.errors, result.wrong_rewards) == (9, 0, 0)
    assert result.requests == 9 * (2 + 2)


@pytest.mark.slow
def test_duration_bounds_the_run(baseline_server: ServerProcess) -> None:
    spec = LoadSpec(url=baseline_server.url, concurrency=2, tool_calls=1, episodes=10**9, duration_s=0.5, warmup_s=0.2)
    started = time.monotonic()
    result = run_load_sync(spec)
    assert time.monotonic() - started < 5.0
    assert result.errors == 0
    assert result.episodes > 0
    assert result.elapsed_s <= 1.0


@pytest.mark.slow
def test_http_errors_are_counted_and_run_terminates(baseline_server: ServerProcess) -> None:
    spec = LoadSpec(
        url=baseline_server.url,
        concurrency=2,
        tool_calls=2,
        episodes=10,
        duration_s=3.0,
        warmup_s=0.0,
        tool="no_such_tool",
    )
    started = time.monotonic()
    result = run_load_sync(spec)
    assert time.monotonic() - started < spec.duration_s + 10.0
    assert result.errors == 10  # every episode aborts at its first tool call
    assert result.episodes == 0
    assert result.error_samples and "404" in result.error_samples[0]
    assert len(result.error_samples) <= 5


def test_connection_errors_are_counted_and_run_terminates() -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago; nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = LoadSpec(url=f"http://127.0.0.1:{port}", concurrency=2, episodes=6, duration_s=2.0, warmup_s=0.0)
    started = time.monotonic()
    result = run_load_sync(spec)
    assert time.monotonic() - started < spec.duration_s + 10.0
    assert result.errors == 6
    assert result.episodes == 0
    assert "Connection" in result.error_samples[0]


class _QuirkyServer:
    """Counter server on raw asyncio streams that exercises the client's HTTP handling: chunked
    /verify bodies, ``Connection: close`` on every third response of a connection, and a session
    cookie whose value rotates on every response (a stale cookie gets 400)."""

    def __init__(self) -> None:
        self.connections = 0
        self.sessions: dict[str, list[int]] = {}  # sid -> [cookie version, count]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            for served in range(1, 1000):
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                lines = head.split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ln)}
                body = orjson.loads(await reader.readexactly(int(headers["content-length"])))
                status, payload, sid = self.route(path, headers.get("cookie", ""), body)
                close = served % 3 == 0
                out = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                if sid is not None:
                    version = self.sessions[sid][0]
                    out += f"Set-Cookie: s={sid}.{version}; Path=/\r\nset-cookie: other=1\r\n"
                if close:
                    out += "Connection: close\r\n"
                data = orjson.dumps(payload)
                if path == "/verify":
                    half = len(data) // 2
                    out += "Transfer-Encoding: chunked\r\n\r\n"
                    writer.write(out.encode())
                    for chunk in (data[:half], data[half:], b""):
                        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    writer.write(f"{out}Content-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def route(self, path: str, cookie: str, body: Any) -> tuple[int, Any, str | None]:
        if path == "/seed_session":
            sid = f"sid{len(self.sessions)}"
            self.sessions[sid] = [0, body["initial_count"]]
            return 200, {}, sid
        jar = dict(part.strip().split("=", 1) for part in cookie.split(";") if "=" in part)
        sid, _, version = jar.get("s", "").partition(".")
        state = self.sessions.get(sid)
        if state is None or version != str(state[0]) or jar.get("other") != "1":
            return 400, {"detail": f"stale or missing cookie: {cookie!r}"}, None
        state[0] += 1
        if path == "/increment":
            state[1] += body["by"]
            return 200, {"count": state[1]}, sid
        if path == "/verify":
            text = body["response"]["output"][-1]["content"][0]["text"]
            return 200, {"reward": 1.0 if text == str(state[1]) else 0.0}, sid
        return 200, {}, sid


async def test_chunked_bodies_connection_close_and_rotating_cookies() -> None:
    quirky = _QuirkyServer()
    server = await asyncio.start_server(quirky.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        spec = LoadSpec(
            url=f"http://127.0.0.1:{port}",
            concurrency=3,
            tool_calls=4,
            episodes=12,
            duration_s=5.0,
            warmup_s=0,
        )
        result = await run_load(spec)
    finally:
        server.close()
        await server.wait_closed()
    assert result.error_samples == []
    assert (result.episodes, result.errors, result.wrong_rewards) == (12, 0, 0)
    assert result.requests == 12 * (4 + 3)
    assert quirky.connections >= 12 * 7 // 3  # the client reconnected after every Connection: close


async def test_hard_deadline_abandons_stuck_episodes(monkeypatch: pytest.MonkeyPatch) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):  # swallow requests until the client hangs up
            pass
        writer.close()

    monkeypatch.setattr(loadgen, "_HARD_DEADLINE_GRACE_S", 0.3)
    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = time.monotonic()
    try:
        spec = LoadSpec(url=f"http://127.0.0.1:{port}", concurrency=2, duration_s=0.2, warmup_s=0)
        result = await run_load(spec)
    finally:
        server.close()
    assert time.monotonic() - started < 3.0
    assert result.errors == 2
    assert "hard deadline" in result.error_samples[0]


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1:8000", "http://example.com/", "http://0.0.0.0:80", "http://[2001:db8::1]:80"],
)
def test_non_loopback_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        LoadSpec(url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "http://127.8.9.10:1", "http://[::1]:1", "http://localhost:1"])
def test_loopback_urls_are_accepted(url: str) -> None:
    assert LoadSpec(url=url).url == url


@pytest.mark.parametrize(
    "kwargs",
    [
        {"url": "https://127.0.0.1:1"},
        {"url": "http://127.0.0.1:1", "concurrency": 0},
        {"url": "http://127.0.0.1:1", "warmup_s": 10.0, "duration_s": 10.0},
        {"url": "http://127.0.0.1:1", "tool": "a b"},
    ],
)
def test_invalid_specs_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        LoadSpec(**kwargs)


def test_start_server_reports_child_failure() -> None:
    with pytest.raises(RuntimeError, match="exited"):
        start_server("gymhall.bench.no_such_module:app", ready_timeout_s=10.0)


# --- baseline app in process -------------------------------------------------------------------


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_seed_sets_session_cookie(client: httpx.AsyncClient) -> None:
    resp = await client.post("/seed_session", content=orjson.dumps(SEED_ROW))
    assert resp.status_code == 200
    set_cookie = resp.headers["set-cookie"]
    assert set_cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in set_cookie and "Path=/" in set_cookie
    assert client.cookies.get(COOKIE_NAME)


async def test_increments_count_and_cookie_is_resent(client: httpx.AsyncClient) -> None:
    await client.post("/seed_session", content=orjson.dumps({**SEED_ROW, "initial_count": 5}))
    counts = []
    for _ in range(3):
        resp = await client.post("/increment", content=b'{"by": 2}')
        assert resp.status_code == 200
        assert COOKIE_NAME in resp.headers["set-cookie"]
        counts.append(resp.json()["count"])
    assert counts == [7, 9, 11]


async def test_sessions_are_isolated_by_cookie(client: httpx.AsyncClient) -> None:
    await client.post("/seed_session", content=orjson.dumps(SEED_ROW))
    first = client.cookies.get(COOKIE_NAME)
    await client.post("/increment", content=b'{"by": 1}')
    client.cookies.clear()
    await client.post("/seed_session", content=orjson.dumps(SEED_ROW))
    assert client.cookies.get(COOKIE_NAME) != first
    assert (await client.post("/increment", content=b'{"by": 1}')).json() == {"count": 1}


@pytest.mark.parametrize(("text", "reward"), [("3", 1.0), ("2", 0.0), ("three", 0.0)])
async def test_verify_rewards_exact_counter_text(client: httpx.AsyncClient, text: str, reward: float) -> None:
    await client.post("/seed_session", content=orjson.dumps(SEED_ROW))
    for _ in range(3):
        await client.post("/increment", content=b'{"by": 1}')
    body = {**SEED_ROW, "response": _response_with_text(text)}
    resp = await client.post("/verify", content=orjson.dumps(body))
    assert resp.status_code == 200
    payload = resp.json()
    assert payload["reward"] == reward
    assert payload["initial_count"] == 0  # the request is echoed back, as NeMo Gym does


async def test_verify_without_assistant_message_gives_zero(client: httpx.AsyncClient) -> None:
    await client.post("/seed_session", content=orjson.dumps(SEED_ROW))
    response = {**_response_with_text("0"), "output": []}
    resp = await client.post("/verify", content=orjson.dumps({**SEED_ROW, "response": response}))
    assert resp.json()["reward"] == 0.0


async def test_unknown_session_and_close(client: httpx.AsyncClient) -> None:
    assert (await client.post("/increment", content=b"{}")).status_code == 404
    await client.post("/seed_session", content=orjson.dumps(SEED_ROW))
    assert (await client.post("/close_session", content=b"{}")).status_code == 200
    assert (await client.post("/increment", content=b"{}")).status_code == 404


async def test_health_and_bad_json(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).status_code == 200
    assert (await client.post("/seed_session", content=b"{not json")).status_code == 400
