"""The app's dispatch: exact-path routes before the middleware stack, and the FastAPI path when there is middleware."""

from __future__ import annotations

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
