"""Connection limits on both of uvicorn's HTTP protocols: incomplete requests time out, connections are capped."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gymhall.config.connections import ConnectionSettings, default_max_connections
from gymhall.config.settings import BaseResourcesServerConfig
from gymhall.server.app import create_app
from gymhall.server.connections import protocol_class, uvicorn_options


@contextmanager
def serving(settings: ConnectionSettings, base: type[asyncio.Protocol]) -> Iterator[tuple[str, int]]:
    """A gymhall app under uvicorn with `settings`' limits on protocol `base`, on a loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    options = {**uvicorn_options(settings), "http": protocol_class(settings, base)}
    server = uvicorn.Server(
        uvicorn.Config(create_app(BaseResourcesServerConfig(), title="t"), log_config=None, ws="none", **options)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    address = sock.getsockname()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        yield address
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


@pytest.mark.parametrize("base", [HttpToolsProtocol, H11Protocol], ids=["httptools", "h11"])
def test_each_protocol_times_out_incomplete_requests_and_caps_connections(base: type[asyncio.Protocol]) -> None:
    settings = ConnectionSettings(request_timeout_s=0.5, max_connections=6)
    with serving(settings, base) as address:
        idle = socket.create_connection(address, timeout=5)
        partial = socket.create_connection(address, timeout=5)
        partial.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        body = socket.create_connection(address, timeout=5)
        body.sendall(b"POST /seed_session HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        held = [socket.create_connection(address, timeout=5) for _ in range(3)]  # 6 open: the cap
        over = socket.create_connection(address, timeout=5)
        over.settimeout(2)
        assert over.recv(4096).startswith(b"HTTP/1.1 503")
        assert _closed_within(over, 1)
        started = time.monotonic()
        assert all(_closed_within(sock, 3) for sock in [idle, partial, body, *held])
        assert time.monotonic() - started < 2.5
        # A whole request is answered, and the connection stays open for the next one.
        with httpx.Client(base_url=f"http://{address[0]}:{address[1]}", timeout=5) as client:
            assert client.get("/").status_code == 200
            time.sleep(0.8)  # longer than the request timeout: an answered connection is kept alive
            assert client.get("/").status_code == 200
        for sock in [idle, partial, body, *held, over]:
            sock.close()


def test_the_default_cap_leaves_room_under_the_open_file_limit() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = default_max_connections()
    assert 16 <= cap <= 16_384
    if soft != resource.RLIM_INFINITY:
        assert cap <= soft - 64 or cap == 16
    assert ConnectionSettings().connection_cap() == cap
    assert ConnectionSettings(max_connections=10).connection_cap() == 10
