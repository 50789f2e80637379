"""gymhall's lean HTTP/1.1 client for plain-http URLs: the measured hot path of every rollout.

Requests are written as bytes on asyncio protocols and answers parsed by `httptools` (the parser
uvicorn uses): about 40 µs of CPU per request. One keep-alive connection per request in flight, at
most `limit` per base URL; a request on a reused connection that closed before answering is re-sent
when its method is idempotent. Failures are raised as httpx's exceptions.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import quote, urlsplit

import httpx

__all__ = ["KEEPALIVE_S", "LeanPool", "RawReply", "header_lines", "httptools_parser"]

# Below uvicorn's default keep-alive (5 s): the client drops an idle connection before the server
# does, so a request never lands on a socket the server is closing.
KEEPALIVE_S = 4.0
# Methods a request may be re-sent with when a reused connection turns out closed (RFC 9110 9.2.2).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class _Headers:
    """An answer's headers, decoded on first use: most answers (a 2xx) are read for their body alone."""

    __slots__ = ("_decoded", "_raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw
        self._decoded: list[tuple[str, str]] | None = None

    @property
    def _items(self) -> list[tuple[str, str]]:
        if self._decoded is None:
            self._decoded = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in self._raw]
        return self._decoded

    def get(self, key: str, default: str | None = None) -> str | None:
        values = self.get_list(key)
        return values[0] if values else default

    def get_list(self, key: str) -> list[str]:
        # Matched as bytes, so only the values asked for are decoded (a session reads set-cookie on every answer).
        name = key.lower().encode("latin-1", "replace")
        return [v.decode("latin-1") for k, v in self._raw if len(k) == len(name) and k.lower() == name]

    def items(self) -> list[tuple[str, str]]:
        """Every header as (lower-cased name, value), in the order received."""
        return list(self._items)


class RawReply:
    """A whole answer: status, headers and body, read before the connection went back to the pool."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, raw_headers: list[tuple[bytes, bytes]], content: bytes) -> None:
        self.status_code = status_code
        self.headers = _Headers(raw_headers)
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300


def httptools_parser() -> Any:
    try:
        import httptools
    except ImportError:  # an optional part of uvicorn[standard]: httpx serves instead
        return None
    return httptools


class _Closed(Exception):
    """The server closed the connection before any answer; `reused` says whether it had served a request before."""

    def __init__(self, error: httpx.TransportError, *, reused: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.reused = reused


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time; the answer is parsed as it arrives."""

    def __init__(self) -> None:
        import httptools

        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[RawReply] | None = None
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.headers_done = False
        self.received = False  # any byte of the current answer arrived
        self.served = 0  # answers completed on this connection
        self.reusable = True  # false once the server asked to close, or the stream broke
        self.idle_since = 0.0
        self.head = False  # the current request is a HEAD: its answer has no body, whatever its headers say

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except Exception as exc:  # httptools.HttpParserError and its kin: the stream cannot be trusted
            self._fail(httpx.RemoteProtocolError(f"unparsable HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if self.waiter is None or self.waiter.done():
            return
        if self.headers_done and exc is None and self._until_eof():
            try:
                self.on_message_complete()  # an answer delimited by the end of the connection
            except Exception as problem:  # a body that does not decompress
                self._fail(httpx.RemoteProtocolError(f"unparsable HTTP answer: {problem}"))
            return
        error: httpx.TransportError
        if exc is None:
            error = httpx.RemoteProtocolError("the server closed the connection without answering")
        else:
            error = httpx.ReadError(f"the connection broke: {type(exc).__name__}: {exc}")
        if self.received:
            self._fail(error)
        else:
            waiter, self.waiter = self.waiter, None
            waiter.set_exception(_Closed(error, reused=self.served > 0))

    def _until_eof(self) -> bool:
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def _fail(self, error: Exception) -> None:
        self.reusable = False
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def send(self, data: bytes, *, head: bool = False) -> asyncio.Future[RawReply]:
        assert self.transport is not None
        waiter: asyncio.Future[RawReply] = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        self.received = False
        self.headers_done = False  # left True by the previous answer: a close must not pass for this one
        self.head = head
        self.transport.write(data)
        return waiter

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.status = 0
        self.headers = []
        self.body = []
        self.headers_done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True
        if self.head and self.status >= 200:
            # httptools cannot be told that an answer to HEAD has no body: complete it here, and read
            # the next answer with a fresh parser (this one now waits for content-length bytes).
            self.on_message_complete()
            import httptools

            self.parser = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:  # an interim answer (100 Continue): the real one follows
            return
        if not self.parser.should_keep_alive():
            self.reusable = False
        self.served += 1
        content = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        for name, value in self.headers:
            if len(name) == 16 and name.lower() == b"content-encoding":
                content = _decompress(value, content)
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(RawReply(self.status, self.headers, content))


def _decompress(encoding: bytes, content: bytes) -> bytes:
    # Nothing asks for compression, but a server may compress anyway.
    kind = encoding.strip().lower()
    if kind in (b"gzip", b"x-gzip"):
        return zlib.decompress(content, 16 + zlib.MAX_WBITS)
    if kind == b"deflate":
        try:
            return zlib.decompress(content)
        except zlib.error:  # raw deflate, as some servers send it
            return zlib.decompress(content, -zlib.MAX_WBITS)
    return content


class LeanPool:
    """Keep-alive HTTP/1.1 connections to one plain-http host: at most `limit` open, idle ones reused newest first."""

    def __init__(self, base_url: str, limit: int, headers: Mapping[str, str]) -> None:
        parts = urlsplit(base_url)
        self.url = base_url
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        self.prefix = quote(parts.path.rstrip("/"), safe="/%:@!$&'()*+,;=-._~")
        self.fixed = header_lines({"host": host_header, **headers})
        self.slots = asyncio.Semaphore(limit)
        self.idle: list[_Connection] = []
        self.open: set[_Connection] = set()
        self.closed = False

    async def request(self, method: str, path: str, content: bytes, headers: Mapping[str, str]) -> RawReply:
        target = self.prefix + (path if path.startswith("/") else "/" + path)
        if content or method not in _IDEMPOTENT:
            length = b"content-length: %d\r\n\r\n" % len(content)
        else:
            length = b"\r\n"
        data = b"".join(
            (method.encode("ascii"), b" ", target.encode("ascii"), b" HTTP/1.1\r\n", self.fixed),
        )
        data += header_lines(headers) + length + content
        async with self.slots:
            while True:
                connection = await self._connection(method)
                try:
                    reply = await connection.send(data, head=method == "HEAD")
                except _Closed as closed:
                    self._forget(connection)
                    if closed.reused and method in _IDEMPOTENT:
                        continue  # the server had just closed this idle connection: once more on another
                    raise self._error(method, closed.error) from None
                except httpx.TransportError as exc:
                    self._forget(connection)
                    raise self._error(method, exc) from None
                except BaseException:  # cancelled or timed out: the answer may still come, so drop the connection
                    self._forget(connection)
                    raise
                if connection.reusable:
                    connection.idle_since = asyncio.get_running_loop().time()
                    self.idle.append(connection)
                else:
                    self._forget(connection)
                return reply

    async def _connection(self, method: str) -> _Connection:
        if self.closed:  # e.g. a GET re-sent after close() ended its connection
            raise httpx.ConnectError(f"{method} {self.url}: the pool is closed")
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.idle:
            connection = self.idle.pop()
            transport = connection.transport
            if (
                connection.reusable
                and transport is not None
                and not transport.is_closing()
                and now - connection.idle_since < KEEPALIVE_S
            ):
                return connection
            self._forget(connection)
        try:
            _, connection = await loop.create_connection(_Connection, self.host, self.port)
        except OSError as exc:
            raise httpx.ConnectError(f"{method} {self.url}: cannot connect to {self.host}:{self.port}: {exc}") from None
        if self.closed:  # closed while connecting
            connection.close()
            raise httpx.ConnectError(f"{method} {self.url}: the pool is closed")
        self.open.add(connection)
        return connection

    def _forget(self, connection: _Connection) -> None:
        connection.close()
        self.open.discard(connection)

    def _error(self, method: str, exc: httpx.TransportError) -> httpx.TransportError:
        return type(exc)(f"{method} {self.url}: {exc}")

    def close(self) -> None:
        self.closed = True
        for connection in list(self.open):
            connection.close()
        self.open.clear()
        self.idle.clear()


def header_lines(headers: Mapping[str, str]) -> bytes:
    lines = []
    for name, value in headers.items():
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
            raise ValueError(f"Header {name!r} has a line break or a colon in its name or value.")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")
