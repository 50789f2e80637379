"""The app's dispatch: exact-path routes before the middleware stack, and the FastAPI path when there is middleware."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request

from gymhall.server.app import GymApp


async def test_user_middleware_takes_the_fastapi_path_with_same_semantics(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    app = make_app()
    seen: list[str] = []

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        seen.append(request.url.path)
        return await call_next(request)

    async with client(app) as c:
        await seeded(c)
        assert (await c.post("/note", json={"text": "a"})).status_code == 200
        c.cookies.clear()
        assert (await c.post("/note", json={"text": "a"})).status_code == 400
    assert seen == ["/seed_session", "/note", "/note"]


async def test_nemo_gym_rollout_prefix_is_stripped(
    make_app: Callable[..., GymApp],
    client: Callable[[GymApp], httpx.AsyncClient],
    seeded: Callable[[httpx.AsyncClient], Awaitable[str]],
) -> None:
    async with client(make_app()) as c:
        await seeded(c)
        r = await c.post("/ng-rollout/0-1/note", json={"text": "a"})
        assert r.status_code == 200 and r.json()["text"] == "a"


async def test_unknown_route_is_404_and_health_ok(
    make_app: Callable[..., GymApp], client: Callable[[GymApp], httpx.AsyncClient]
) -> None:
    async with client(make_app()) as c:
        assert (await c.get("/")).json() == {"status": "ok"}
        assert (await c.post("/nope", json={})).status_code == 404


_COUNTER = Path(__file__).resolve().parents[2] / "examples" / "counter" / "counter.py"


def _start_counter(*overrides: str) -> tuple[subprocess.Popen[str], str]:
    """`serve_app` as `python counter.py` runs it, on a free loopback port; its URL once it listens."""
    child = subprocess.Popen(
        [sys.executable, str(_COUNTER), "--port", "0", *overrides],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()  # "gymhall: serving ... on http://127.0.0.1:PORT (Ctrl-C to stop)"
    match = re.search(r"http://[\d.]+:\d+", line)
    if match is None:
        child.kill()
        raise AssertionError(f"the server did not start: {line!r}")
    return child, match.group(0)


def _closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """Whether the server closes `sock` within `within_s` (EOF or a reset), reading whatever it sends first."""
    sock.settimeout(within_s)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_half_open_and_slow_connections_are_closed_and_capped() -> None:
    child, url = _start_counter("request_timeout_s=1", "max_connections=24", "keep_alive_timeout_s=1")
    host, port = url.removeprefix("http://").split(":")
    try:
        opened = time.monotonic()
        half_open: list[socket.socket] = []
        for i in range(20):
            sock = socket.create_connection((host, int(port)), timeout=5)
            if i % 3 == 1:  # half a header
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            elif i % 3 == 2:  # a whole header, then a body that never completes
                sock.sendall(b"POST /seed_session HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            half_open.append(sock)  # i % 3 == 0: sends nothing at all
        # Still serving, on a fresh connection, while they hang.
        assert httpx.get(f"{url}/", timeout=5).status_code == 200
        # Past the cap, a new connection is answered 503 and closed at once, not held.
        extra = [socket.create_connection((host, int(port)), timeout=5) for _ in range(10)]
        busy = extra[-1]
        busy.settimeout(2)
        assert busy.recv(4096).startswith(b"HTTP/1.1 503")
        # Every half-open connection is closed once its request timeout has passed, and no sooner than that.
        assert all(_closed_by_server(sock, within_s=5) for sock in half_open + extra)
        assert 0.9 <= time.monotonic() - opened <= 6
        for sock in half_open + extra:
            sock.close()
        # The server is healthy after it: requests are served, on a kept-alive connection too.
        with httpx.Client(timeout=5) as client:
            assert client.get(f"{url}/").status_code == 200
            assert client.get(f"{url}/").status_code == 200
    finally:
        child.terminate()
        child.wait(10)


def test_a_kept_alive_connection_that_starts_a_request_and_stalls_is_closed() -> None:
    child, url = _start_counter("request_timeout_s=1", "keep_alive_timeout_s=30")
    host, port = url.removeprefix("http://").split(":")
    try:
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET / HTTP/1.1\r\n")  # the next request, never finished
        started = time.monotonic()
        assert _closed_by_server(sock, within_s=5)
        assert time.monotonic() - started < 4  # the request timeout, not the 30 s keep-alive
        sock.close()
    finally:
        child.terminate()
        child.wait(10)


def test_pipelined_requests_on_one_connection_are_answered_whole_and_in_order() -> None:
    import h11
    import orjson

    child, url = _start_counter()
    host, port = url.removeprefix("http://").split(":")
    seed = orjson.dumps({"responses_create_params": {"input": "count"}, "initial_count": 3})
    requests = [
        b"POST /seed_session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(seed)}\r\n\r\n".encode()
        + seed,
        b"GET /tools HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /increment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    try:
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"".join(requests))  # all four before reading any answer
            parser = h11.Connection(h11.CLIENT)
            answers: list[tuple[int, bytes]] = []
            while len(answers) < len(requests):
                # h11 reads one answer at a time: a client sends a request per answer it expects.
                parser.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
                parser.send(h11.EndOfMessage())
                status, body = 0, b""
                while True:
                    event = parser.next_event()
                    if event is h11.NEED_DATA:
                        parser.receive_data(sock.recv(65536))
                    elif isinstance(event, h11.Response):
                        status = event.status_code
                    elif isinstance(event, h11.Data):
                        body += bytes(event.data)
                    elif isinstance(event, h11.EndOfMessage):
                        break
                answers.append((status, body))
                parser.start_next_cycle()
    finally:
        child.terminate()
        child.wait(10)
    assert [status for status, _ in answers] == [200, 200, 400, 200]
    assert orjson.loads(answers[0][1])["session"]  # the seed's handle, in its own answer
    assert [tool["name"] for tool in orjson.loads(answers[1][1])] == ["increment"]
    assert b"session" in answers[2][1]  # no handle sent: refused, as alone, with its own reason
    assert orjson.loads(answers[3][1]) == {"status": "ok"}


async def test_seed_and_close_cycles_leave_memory_flat() -> None:
    """The standing part of issue 11's 50,000-cycle run (bench/idle_sessions.py measures the rest)."""
    import gc
    import tracemalloc

    from gymhall.bench.counters import short_style_app
    from gymhall.testing import client_for

    app = short_style_app()
    row = {"responses_create_params": {"input": "count"}, "initial_count": 0}

    async def cycles(count: int) -> None:
        for _ in range(count):
            async with await client.seed_session(row) as session:
                await session.call("increment", {"by": 1})
        await asyncio.sleep(0)

    async with client_for(app) as client:
        await cycles(200)  # caches and pools reach their steady size first
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            await cycles(3000)
            # In process, a cycle may never give the loop a turn; the loop drops cancelled timers on its turn.
            await asyncio.sleep(0)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert len(app.store) == 0  # every closed session was freed, none left for the reaper
    # A leak of even 100 bytes a cycle would be 300 KB here.
    assert grown < 64 * 1024, f"{grown} bytes held after 3,000 seed/close cycles"
