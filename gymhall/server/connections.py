"""Bounding what clients hold: incomplete requests time out, open connections are capped.

uvicorn closes an idle keep-alive connection, but not one that never finishes a request: a client that
connects and sends nothing, or half a header, or a body one byte a minute, holds its socket (and a file
descriptor) for ever. `protocol_class` wraps uvicorn's HTTP protocol (httptools, else h11) so that

- a request must arrive whole (headers and body) within `request_timeout_s` of the connection opening,
  or of its previous answer; else the connection is closed (an app waiting for the body sees a disconnect);
- past `connection_cap()` open connections, a new one is answered 503 with `Retry-After: 1` and closed at
  once, so file descriptors are never used up by clients the server cannot serve.

`uvicorn_options` is what every gymhall server passes to `uvicorn.Config`: the protocol, the listen
backlog and the keep-alive timeout, all from `gymhall.config.connections.ConnectionSettings`.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, ClassVar

from gymhall.config.connections import ConnectionSettings

__all__ = ["listening_socket", "protocol_class", "uvicorn_options"]

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 1\r\n"
    b"connection: close\r\ncontent-length: 52\r\n\r\nThe server holds its most connections; retry shortly."
)


class _BoundedConnection(asyncio.Protocol):
    """Mixed in before uvicorn's protocol: the request deadline and the connection cap."""

    request_timeout_s: ClassVar[float]
    max_connections: ClassVar[int]
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        this: Any = self  # uvicorn's protocol: `connections`, `loop`, `cycle`, `transport`
        if len(this.connections) > self.max_connections:
            this.transport.write(_BUSY)  # uvloop's transports are not asyncio.WriteTransport subclasses
            this.transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        this: Any = self
        if self._deadline is None and (this.cycle is None or this.cycle.response_complete):
            self._arm()  # the first byte of a new request on a kept-alive connection
        super().data_received(data)
        cycle = this.cycle
        if self._deadline is not None and cycle is not None and not cycle.more_body and not cycle.response_complete:
            self._disarm()  # the request arrived whole; the app is answering it

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        this: Any = self
        self._deadline = this.loop.call_later(self.request_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        this: Any = self
        transport = this.transport
        if transport is not None and not transport.is_closing():
            transport.close()


def _uvicorn_protocol() -> type[asyncio.Protocol]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # uvicorn without httptools: its pure-Python h11 protocol
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol
    return HttpToolsProtocol


def protocol_class(settings: ConnectionSettings, base: type[asyncio.Protocol] | None = None) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (`base`, default httptools else h11) with `settings`' deadline and cap."""
    base = base or _uvicorn_protocol()
    namespace = {"request_timeout_s": settings.request_timeout_s, "max_connections": settings.connection_cap()}
    return type(f"Bounded{base.__name__}", (_BoundedConnection, base), namespace)


def uvicorn_options(settings: ConnectionSettings) -> dict[str, Any]:
    """Keyword arguments of `uvicorn.Config` that bound connections as `settings` say."""
    return {
        "http": protocol_class(settings),
        "backlog": settings.backlog,
        "timeout_keep_alive": settings.keep_alive_timeout_s,
    }


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A TCP socket bound to `host:port` (0: a free port) and listening, to hand to uvicorn.

    Listening at once means a second stack planning at the same moment finds the port taken. Raises
    `OSError` when the address cannot be bound.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a port in TIME_WAIT is usable
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock
