"""`gymhall.client.http`'s `HttpPool` against real loopback servers: its lean HTTP/1.1 client (plain http://),
and the httpx client that serves https:// (exercised over plain http with the lean client turned off).

Normal traffic goes to a Starlette app under uvicorn (`serve_in_thread`); wire edge cases go to small
`asyncio.start_server` servers written here, which count the connections they accept and hold open.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gymhall.client import http as _http
from gymhall.client import lean_pool
from gymhall.client.http import HttpPool
from gymhall.client.lean_pool import LeanPool
from gymhall.testing import serve_in_thread

BOUND_S = 5.0  # every test finishes well within this, or fails
BIG = bytes(range(256)) * 16_384  # 4 MiB: many reads, far over any parser or socket buffer
TEXT = b"gymhall " * 2_000  # compressible


# --- a raw loopback server --------------------------------------------------------------------------------

Handler = Callable[["RawServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """An `asyncio.start_server` on 127.0.0.1 running `handler` per connection, counting connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.accepted = 0  # connections accepted so far
        self.open = 0  # connections whose handler is still running
        self.max_open = 0
        self.requests: list[bytes] = []  # every request read, head and body, in arrival order
        self.received = asyncio.Event()  # set at each request read
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.accepted += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        try:
            await self.handler(self, reader, writer)
        except ConnectionError:
            pass
        finally:
            self.open -= 1
            writer.close()
            self._tasks.discard(task)

    async def read_request(self, reader: asyncio.StreamReader) -> bytes | None:
        """The next request on a connection (head and body), or None once the client closed it."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        request = head + await reader.readexactly(length)
        self.requests.append(request)
        self.received.set()
        return request

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await asyncio.sleep(0.002)


def reply(status: int = 200, body: bytes = b"", *headers: str, length: bool = True) -> bytes:
    """An HTTP/1.1 answer; `length` adds the content-length header."""
    lines = [f"HTTP/1.1 {status} X", *headers]
    if length:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def keep_alive(answer: Callable[[bytes], bytes], delay_s: float = 0.0) -> Handler:
    """A handler that answers every request on the connection with `answer(request)`, until the client closes it."""

    async def handler(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await server.read_request(reader)) is not None:
            if delay_s:
                await asyncio.sleep(delay_s)
            writer.write(answer(request))
            await writer.drain()

    return handler


def echo_line(request: bytes) -> bytes:
    return reply(200, request.split(b"\r\n", 1)[0])


@contextlib.asynccontextmanager
async def pool_for(url: str, *, timeout_s: float | None = 2.0, max_connections: int = 4) -> AsyncIterator[HttpPool]:
    pool = HttpPool(url, timeout_s=timeout_s, max_connections=max_connections, headers={"x-fixed": "yes"})
    assert isinstance(pool._client(), LeanPool)  # plain http with httptools installed: the lean client
    try:
        yield pool
    finally:
        await pool.aclose()


def lean(pool: HttpPool) -> LeanPool:
    session = pool._session
    assert isinstance(session, LeanPool)
    return session


# --- a uvicorn server for normal traffic --------------------------------------------------------------------


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "body": (await request.body()).decode(),
        },
        headers={"x-answer": "42"},
    )


async def chunks() -> AsyncIterator[bytes]:
    for part in (b"one,", b"two,", b"three"):
        yield part
        await asyncio.sleep(0)


async def streamed(request: Request) -> StreamingResponse:
    return StreamingResponse(chunks())


async def big(request: Request) -> Response:
    return Response(BIG)


async def text(request: Request) -> Response:
    return Response(TEXT, media_type="text/plain")


async def streamed_text(request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield TEXT

    return StreamingResponse(parts(), media_type="text/plain")


async def status(request: Request) -> Response:
    return Response(status_code=int(request.path_params["code"]))


@pytest.fixture(scope="module")
def uvicorn_url() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/stream", streamed),
            Route("/big", big),
            Route("/text", text),
            Route("/streamed-text", streamed_text),
            Route("/status/{code:int}", status),
        ],
        middleware=[Middleware(GZipMiddleware, minimum_size=500)],
    )
    with serve_in_thread(app) as url:
        yield url


# --- round trips ----------------------------------------------------------------------------------------------


async def test_get_and_post_round_trip_headers_and_body(uvicorn_url: str) -> None:
    async with asyncio.timeout(BOUND_S), pool_for(uvicorn_url) as pool:
        got = await pool.request("GET", "/echo?a=1&b=two", b"", {"x-request": "get"})
        posted = await pool.request("POST", "echo", b'{"n": 1}', {"content-type": "application/json"})
    assert got.status_code == 200 and got.is_success
    assert got.headers.get("X-Answer") == "42"
    assert got.headers.get("content-type") == "application/json"
    sent = json.loads(got.text)
    assert (sent["method"], sent["path"], sent["query"], sent["body"]) == ("GET", "/echo", "a=1&b=two", "")
    assert sent["headers"]["x-request"] == "get" and sent["headers"]["x-fixed"] == "yes"
    assert sent["headers"]["host"] == uvicorn_url.removeprefix("http://")
    sent = json.loads(posted.content)
    assert (sent["method"], sent["path"], sent["body"]) == ("POST", "/echo", '{"n": 1}')
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["headers"]["content-length"] == "8"


async def test_request_bytes_on_the_wire() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(keep_alive(echo_line)) as server:
        async with pool_for(server.url + "/api/v1/") as pool:
            await pool.request("GET", "/items", b"", {"accept": "*/*"})
            await pool.request("POST", "/items", b"", {})
            await pool.request("PUT", "/items/1", b"body", {})
    get, post, put = server.requests
    port = server.url.rsplit(":", 1)[1]
    assert (
        get == f"GET /api/v1/items HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nx-fixed: yes\r\naccept: */*\r\n\r\n".encode()
    )
    assert b"content-length" not in get  # an idempotent request without a body says nothing about one
    assert post.startswith(b"POST /api/v1/items HTTP/1.1\r\n") and post.endswith(b"content-length: 0\r\n\r\n")
    assert put.startswith(b"PUT /api/v1/items/1 HTTP/1.1\r\n") and put.endswith(b"content-length: 4\r\n\r\nbody")


async def test_header_with_a_line_break_is_refused() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(keep_alive(echo_line)) as server, pool_for(server.url) as pool:
        with pytest.raises(ValueError, match="line break"):
            await pool.request("GET", "/", b"", {"x-evil": "a\r\nx-injected: 1"})
    assert server.requests == []


# --- connections: reuse, limit, expiry, close ----------------------------------------------------------------


async def test_keep_alive_reuses_one_connection_for_sequential_requests() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(keep_alive(echo_line)) as server:
        async with pool_for(server.url) as pool:
            for i in range(5):
                assert (await pool.request("GET", f"/{i}", b"", {})).text == f"GET /{i} HTTP/1.1"
                assert (await pool.request("POST", f"/{i}", b"x", {})).text == f"POST /{i} HTTP/1.1"
            assert len(lean(pool).open) == 1
        assert server.accepted == 1
        assert len(server.requests) == 10


async def test_pool_never_opens_more_than_max_connections() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(keep_alive(echo_line, delay_s=0.01)) as server:
        async with pool_for(server.url, max_connections=3) as pool:
            replies = await asyncio.gather(*(pool.request("GET", f"/{i}", b"", {}) for i in range(30)))
            assert [r.text for r in replies] == [f"GET /{i} HTTP/1.1" for i in range(30)]
            assert len(lean(pool).open) == 3
        assert server.max_open == 3
        assert server.accepted == 3  # each connection kept alive and reused for the next waiting request


async def test_idle_connection_older_than_keepalive_is_closed_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lean_pool, "KEEPALIVE_S", 0.05)
    async with asyncio.timeout(BOUND_S), RawServer(keep_alive(echo_line)) as server, pool_for(server.url) as pool:
        await pool.request("GET", "/1", b"", {})
        await asyncio.sleep(0.06)
        await pool.request("GET", "/2", b"", {})
        assert server.accepted == 2
        await server.wait_until(lambda: server.open == 1)  # the client closed the expired one itself


async def test_connection_close_answer_is_not_reused() -> None:
    answer = reply(200, b"bye", "connection: close")
    async with (
        asyncio.timeout(BOUND_S),
        RawServer(keep_alive(lambda _: answer)) as server,
        pool_for(server.url) as pool,
    ):
        assert (await pool.request("GET", "/", b"", {})).text == "bye"
        assert (await pool.request("GET", "/", b"", {})).text == "bye"
        assert server.accepted == 2
        await server.wait_until(lambda: server.open == 0)  # the client closed both, as the server asked
        assert not lean(pool).open and not lean(pool).idle


async def test_aclose_closes_every_connection() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(keep_alive(echo_line, delay_s=0.01)) as server:
        pool = HttpPool(server.url, timeout_s=2.0, max_connections=3, headers={})
        await asyncio.gather(*(pool.request("GET", "/", b"", {}) for _ in range(3)))
        assert server.open == 3
        await pool.aclose()
        await server.wait_until(lambda: server.open == 0)
        assert pool._session is None
        # The pool is made again on the next request.
        assert (await pool.request("GET", "/again", b"", {})).text == "GET /again HTTP/1.1"
        await pool.aclose()
        await server.wait_until(lambda: server.open == 0)


# --- bodies: chunked, compressed, delimited by close, large, none ----------------------------------------


async def test_chunked_response(uvicorn_url: str) -> None:
    async with asyncio.timeout(BOUND_S), pool_for(uvicorn_url) as pool:
        answer = await pool.request("GET", "/stream", b"", {})
    assert answer.headers.get("transfer-encoding") == "chunked"
    assert answer.content == b"one,two,three"


async def test_chunked_response_in_odd_pieces() -> None:
    async def handler(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await server.read_request(reader) is not None:
            wire = reply(200, b"", "transfer-encoding: chunked", length=False)
            wire += b"5;ext=1\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n"
            for i in range(0, len(wire), 7):  # split anywhere, even inside the chunk sizes
                writer.write(wire[i : i + 7])
                await writer.drain()
                await asyncio.sleep(0)

    async with asyncio.timeout(BOUND_S), RawServer(handler) as server, pool_for(server.url) as pool:
        assert (await pool.request("GET", "/", b"", {})).content == b"hello, world"
        assert (await pool.request("GET", "/", b"", {})).content == b"hello, world"
        assert server.accepted == 1


@pytest.mark.parametrize(("path", "expected"), [("/text", TEXT), ("/streamed-text", TEXT * 4)])
async def test_gzip_response_is_decompressed(uvicorn_url: str, path: str, expected: bytes) -> None:
    async with asyncio.timeout(BOUND_S), pool_for(uvicorn_url) as pool:
        answer = await pool.request("GET", path, b"", {"accept-encoding": "gzip"})
    assert answer.headers.get("content-encoding") == "gzip"
    assert answer.content == expected


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", raw_deflate),  # as some servers send it
        ("identity", lambda data: data),
    ],
    ids=["gzip", "x-gzip", "deflate", "raw-deflate", "identity"],
)
async def test_compressed_response_is_decompressed(encoding: str, compress: Callable[[bytes], bytes]) -> None:
    answer = reply(200, compress(TEXT), f"content-encoding: {encoding}")
    async with (
        asyncio.timeout(BOUND_S),
        RawServer(keep_alive(lambda _: answer)) as server,
        pool_for(server.url) as pool,
    ):
        assert (await pool.request("GET", "/", b"", {})).content == TEXT


async def test_answer_delimited_by_connection_close() -> None:
    async def handler(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(reply(200, b"", "content-type: text/plain", length=False))
        for part in (b"until ", b"the ", b"end"):
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.001)
        # returning closes the connection: that is where the body ends

    async with asyncio.timeout(BOUND_S), RawServer(handler) as server, pool_for(server.url) as pool:
        assert (await pool.request("GET", "/", b"", {})).content == b"until the end"
        assert (await pool.request("POST", "/", b"x", {})).content == b"until the end"
        assert server.accepted == 2
        assert not lean(pool).open


async def test_large_response_arrives_whole(uvicorn_url: str) -> None:
    async with asyncio.timeout(BOUND_S), pool_for(uvicorn_url) as pool:
        first = await pool.request("GET", "/big", b"", {})
        upload = TEXT * 256  # 4 MB the other way
        second = await pool.request("POST", "/echo", upload, {})
    assert first.headers.get("content-length") == str(len(BIG))
    assert first.content == BIG
    assert json.loads(second.content)["body"].encode() == upload


@pytest.mark.parametrize("code", [204, 304])
async def test_bodiless_status_then_the_connection_is_reused(code: int) -> None:
    # A 304 may state the length of the body it does not send; a 204 has neither.
    first = reply(code, b"", "content-length: 10" if code == 304 else "x: y", length=False)

    async def handler(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(first)
        while (request := await server.read_request(reader)) is not None:
            writer.write(echo_line(request))

    async with asyncio.timeout(BOUND_S), RawServer(handler) as server, pool_for(server.url) as pool:
        answer = await pool.request("GET", "/", b"", {})
        assert (answer.status_code, answer.content, answer.is_success) == (code, b"", code == 204)
        assert (await pool.request("GET", "/next", b"", {})).text == "GET /next HTTP/1.1"
        assert server.accepted == 1


@pytest.mark.parametrize("code", [204, 304])
async def test_bodiless_status_from_uvicorn(uvicorn_url: str, code: int) -> None:
    async with asyncio.timeout(BOUND_S), pool_for(uvicorn_url) as pool:
        assert (await pool.request("GET", f"/status/{code}", b"", {})).content == b""
        assert (await pool.request("GET", "/status/200", b"", {})).status_code == 200


async def test_interim_100_continue_is_skipped() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\n" + reply(201, b"made")
    async with (
        asyncio.timeout(BOUND_S),
        RawServer(keep_alive(lambda _: answer)) as server,
        pool_for(server.url) as pool,
    ):
        got = await pool.request("POST", "/", b"x", {})
        assert (got.status_code, got.content) == (201, b"made")
        assert (await pool.request("POST", "/", b"x", {})).status_code == 201
        assert server.accepted == 1


async def test_head_answer_has_no_body(uvicorn_url: str) -> None:
    async with asyncio.timeout(BOUND_S), pool_for(uvicorn_url, timeout_s=0.3) as pool:
        answer = await pool.request("HEAD", "/text", b"", {})
        assert (answer.status_code, answer.content) == (200, b"")
        assert answer.headers.get("content-length") == str(len(TEXT))


# --- failures ---------------------------------------------------------------------------------------------


def answer_once_then(
    after: Callable[[RawServer, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> Handler:
    """A handler that answers the first request on each connection, then runs `after`."""

    async def handler(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await server.read_request(reader)
        assert request is not None
        writer.write(echo_line(request))
        await writer.drain()
        await after(server, reader, writer)

    return handler


async def close_at_once(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    pass  # the handler returns: the server closes the kept-alive connection


async def close_on_next_request(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await server.read_request(reader)  # read it, then close without answering: the race a keep-alive timeout makes


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_server_closed_idle_connection_next_request_opens_a_new_one(method: str) -> None:
    async with asyncio.timeout(BOUND_S), RawServer(answer_once_then(close_at_once)) as server:
        async with pool_for(server.url) as pool:
            await pool.request(method, "/1", b"", {})
            await server.wait_until(lambda: not lean(pool).idle[0].reusable)  # the client saw the close
            assert (await pool.request(method, "/2", b"", {})).text == f"{method} /2 HTTP/1.1"
        assert server.accepted == 2
        assert len(server.requests) == 2  # nothing was sent on the closed connection


async def test_get_on_a_reused_connection_closed_unanswered_is_sent_again() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(answer_once_then(close_on_next_request)) as server:
        async with pool_for(server.url) as pool:
            await pool.request("GET", "/1", b"", {})
            assert (await pool.request("GET", "/2", b"", {})).text == "GET /2 HTTP/1.1"
        assert server.accepted == 2
        assert [r.split(b" ")[1] for r in server.requests] == [b"/1", b"/2", b"/2"]


async def test_post_on_a_reused_connection_closed_unanswered_is_not_sent_again() -> None:
    # Documented: only idempotent methods are re-sent; a POST raises RemoteProtocolError.
    async with asyncio.timeout(BOUND_S), RawServer(answer_once_then(close_on_next_request)) as server:
        async with pool_for(server.url) as pool:
            await pool.request("POST", "/1", b"a", {})
            with pytest.raises(
                httpx.RemoteProtocolError, match="POST http://.*closed the connection without answering"
            ):
                await pool.request("POST", "/2", b"b", {})
            assert not lean(pool).open
            assert (await pool.request("POST", "/3", b"c", {})).text == "POST /3 HTTP/1.1"
        assert [r.split(b" ")[1] for r in server.requests] == [b"/1", b"/2", b"/3"]  # /2 once


async def test_fresh_connection_closed_unanswered_is_not_sent_again() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(close_on_next_request) as server, pool_for(server.url) as pool:
        with pytest.raises(httpx.RemoteProtocolError, match="without answering"):
            await pool.request("GET", "/", b"", {})
        assert server.accepted == 1
        assert not lean(pool).open


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unanswered_request_after_a_204_is_not_answered_by_the_old_204(method: str) -> None:
    async def handler(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if server.accepted > 1:
            return await keep_alive(echo_line)(server, reader, writer)
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")  # kept alive, no content-length: as Starlette answers
        await server.read_request(reader)  # then closed unanswered

    async with asyncio.timeout(BOUND_S), RawServer(handler) as server, pool_for(server.url) as pool:
        assert (await pool.request(method, "/1", b"", {})).status_code == 204
        if method == "GET":
            assert (await pool.request(method, "/2", b"", {})).text == "GET /2 HTTP/1.1"
        else:
            with pytest.raises(httpx.RemoteProtocolError):
                await pool.request(method, "/2", b"", {})


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        (reply(200, b"0123456789")[:-5], "without answering"),  # content-length 10, 5 bytes, then closed
        (reply(200, b"", "transfer-encoding: chunked", length=False) + b"a\r\n01234", "without answering"),
        (b"NOT HTTP AT ALL\r\n\r\n", "unparsable HTTP answer"),
    ],
    ids=["short-body", "short-chunk", "garbage"],
)
async def test_broken_answer_raises_remote_protocol_error(wire: bytes, match: str) -> None:
    async def handler(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(wire)
        await writer.drain()

    async with asyncio.timeout(BOUND_S), RawServer(handler) as server, pool_for(server.url) as pool:
        with pytest.raises(httpx.RemoteProtocolError, match=match):
            await pool.request("GET", "/", b"", {})
        assert server.accepted == 1  # a GET whose answer had begun is not sent again
        assert not lean(pool).open


async def test_corrupt_gzip_raises_remote_protocol_error() -> None:
    answer = reply(200, b"not gzip at all", "content-encoding: gzip")
    async with (
        asyncio.timeout(BOUND_S),
        RawServer(keep_alive(lambda _: answer)) as server,
        pool_for(server.url) as pool,
    ):
        with pytest.raises(httpx.RemoteProtocolError, match="unparsable"):
            await pool.request("GET", "/", b"", {})
        assert not lean(pool).open


async def test_corrupt_gzip_delimited_by_close_raises_at_once() -> None:
    async def handler(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(reply(200, b"not gzip at all", "content-encoding: gzip", length=False))

    async with asyncio.timeout(BOUND_S), RawServer(handler) as server, pool_for(server.url, timeout_s=0.5) as pool:
        with pytest.raises(httpx.RemoteProtocolError):
            await pool.request("GET", "/", b"", {})


def hang_on(path: bytes) -> Handler:
    """Answers every request but those for `path`, which it reads and never answers."""

    async def handler(server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await server.read_request(reader)) is not None:
            if request.split(b" ")[1] == path:
                await reader.read()  # until the client gives up and closes
                return
            writer.write(echo_line(request))

    return handler


async def test_no_answer_raises_read_timeout_and_the_pool_stays_usable() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(hang_on(b"/hang")) as server:
        async with pool_for(server.url, timeout_s=0.1, max_connections=1) as pool:
            await pool.request("GET", "/warm", b"", {})
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout, match=r"GET http://127\.0\.0\.1:\d+/hang: no answer within 0\.1 s"):
                await pool.request("GET", "/hang", b"", {})
            assert time.monotonic() - started < 1.0
            assert not lean(pool).open  # the connection was dropped: its answer may still come
            await server.wait_until(lambda: server.open == 0)
            # The only slot was given back: the next request gets a new connection.
            assert (await pool.request("GET", "/after", b"", {})).text == "GET /after HTTP/1.1"
        assert server.accepted == 2


async def test_cancelled_request_leaves_the_pool_usable() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(hang_on(b"/hang")) as server:
        async with pool_for(server.url, timeout_s=None, max_connections=1) as pool:
            await pool.request("GET", "/warm", b"", {})
            server.received.clear()
            task = asyncio.create_task(pool.request("GET", "/hang", b"", {}))
            await server.received.wait()  # in flight on the kept-alive connection
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not lean(pool).open and not lean(pool).idle
            await server.wait_until(lambda: server.open == 0)  # the client closed it: no leaked connection
            assert (await pool.request("GET", "/after", b"", {})).text == "GET /after HTTP/1.1"
            assert len(lean(pool).open) == 1
        assert server.accepted == 2


async def test_cancelled_while_waiting_for_a_slot_leaves_the_pool_usable() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(hang_on(b"/hang")) as server:
        async with pool_for(server.url, timeout_s=None, max_connections=1) as pool:
            busy = asyncio.create_task(pool.request("GET", "/hang", b"", {}))
            await server.received.wait()
            waiting = asyncio.create_task(pool.request("GET", "/queued", b"", {}))
            await asyncio.sleep(0.01)
            waiting.cancel()
            busy.cancel()
            await asyncio.gather(busy, waiting, return_exceptions=True)
            assert (await pool.request("GET", "/after", b"", {})).text == "GET /after HTTP/1.1"
        assert b"GET /queued" not in b"".join(server.requests)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refused_connection_raises_connect_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with asyncio.timeout(BOUND_S), pool_for(url) as pool:
        with pytest.raises(httpx.ConnectError, match=f"GET {url}: cannot connect to 127.0.0.1"):
            await pool.request("GET", "/", b"", {})
        assert not lean(pool).open
        with pytest.raises(httpx.ConnectError):  # the slot was given back
            await pool.request("POST", "/", b"", {})


async def test_aclose_during_a_request_leaves_no_connection_open() -> None:
    async with asyncio.timeout(BOUND_S), RawServer(keep_alive(echo_line, delay_s=0.05)) as server:
        pool = HttpPool(server.url, timeout_s=2.0, max_connections=1, headers={})
        await pool.request("GET", "/warm", b"", {})
        server.received.clear()
        task = asyncio.create_task(pool.request("GET", "/slow", b"", {}))
        await server.received.wait()
        await pool.aclose()
        with contextlib.suppress(httpx.TransportError):
            await task
        async with asyncio.timeout(0.5):
            await server.wait_until(lambda: server.open == 0)


# --- https:// and machines without httptools: httpx --------------------------------------------------------


async def test_https_is_served_by_httpx() -> None:
    pool = HttpPool("https://127.0.0.1:1", timeout_s=2.0, max_connections=3, headers={"x-fixed": "yes"})
    try:
        client = pool._client()
        assert isinstance(client, httpx.AsyncClient)
        assert client.headers["x-fixed"] == "yes"
        assert client.trust_env is False  # no proxy taken from the environment
    finally:
        await pool.aclose()


@contextlib.asynccontextmanager
async def httpx_pool_for(
    url: str, monkeypatch: pytest.MonkeyPatch, *, timeout_s: float | None = 2.0, max_connections: int = 4
) -> AsyncIterator[HttpPool]:
    """A pool served by httpx, as for https:// or without httptools, on a plain-http loopback server."""
    monkeypatch.setattr(_http, "httptools_parser", lambda: None)
    pool = HttpPool(url, timeout_s=timeout_s, max_connections=max_connections, headers={"x-fixed": "yes"})
    assert isinstance(pool._client(), httpx.AsyncClient)
    try:
        yield pool
    finally:
        await pool.aclose()


async def test_httpx_round_trip_and_decompression(uvicorn_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with asyncio.timeout(BOUND_S), httpx_pool_for(uvicorn_url, monkeypatch) as pool:
        got = await pool.request("GET", "/echo?a=1", b"", {"x-request": "get"})
        posted = await pool.request("POST", "echo", b'{"n": 1}', {"content-type": "application/json"})
        text = await pool.request("GET", "/text", b"", {"accept-encoding": "gzip"})
    assert got.status_code == 200 and got.is_success
    assert got.headers.get("X-Answer") == "42"
    sent = json.loads(got.text)
    assert (sent["method"], sent["path"], sent["query"], sent["body"]) == ("GET", "/echo", "a=1", "")
    assert sent["headers"]["x-request"] == "get" and sent["headers"]["x-fixed"] == "yes"
    assert "cookie" not in sent["headers"]
    sent = json.loads(posted.content)
    assert (sent["method"], sent["path"], sent["body"]) == ("POST", "/echo", '{"n": 1}')
    assert text.headers.get("content-encoding") == "gzip"
    assert text.content == TEXT


async def test_httpx_keeps_no_cookies(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = reply(200, b"ok", "set-cookie: session=abc; Path=/")
    async with (
        asyncio.timeout(BOUND_S),
        RawServer(keep_alive(lambda _: answer)) as server,
        httpx_pool_for(server.url, monkeypatch) as pool,
    ):
        first = await pool.request("GET", "/1", b"", {})
        await pool.request("GET", "/2", b"", {})
    assert first.headers.get_list("set-cookie") == ["session=abc; Path=/"]  # handed to the caller
    assert all(b"\r\ncookie:" not in request.lower() for request in server.requests)


async def test_httpx_pool_is_bounded_and_kept_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    async with asyncio.timeout(BOUND_S), RawServer(keep_alive(echo_line, delay_s=0.01)) as server:
        async with httpx_pool_for(server.url, monkeypatch, max_connections=3) as pool:
            replies = await asyncio.gather(*(pool.request("GET", f"/{i}", b"", {}) for i in range(30)))
            assert [r.text for r in replies] == [f"GET /{i} HTTP/1.1" for i in range(30)]
        assert server.max_open == 3
        assert server.accepted == 3


async def test_httpx_aclose_closes_every_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    async with asyncio.timeout(BOUND_S), RawServer(keep_alive(echo_line, delay_s=0.01)) as server:
        async with httpx_pool_for(server.url, monkeypatch, max_connections=3) as pool:
            await asyncio.gather(*(pool.request("GET", "/", b"", {}) for _ in range(3)))
            assert server.open == 3
            await pool.aclose()
            await server.wait_until(lambda: server.open == 0)
            assert pool._session is None


async def test_httpx_header_with_a_line_break_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async with (
        asyncio.timeout(BOUND_S),
        RawServer(keep_alive(echo_line)) as server,
        httpx_pool_for(server.url, monkeypatch) as pool,
    ):
        with pytest.raises(ValueError, match="line break"):
            await pool.request("GET", "/", b"", {"x-evil": "a\r\nx-injected: 1"})
    assert server.requests == []


async def test_httpx_no_answer_raises_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    async with asyncio.timeout(BOUND_S), RawServer(hang_on(b"/hang")) as server:
        async with httpx_pool_for(server.url, monkeypatch, timeout_s=0.1, max_connections=1) as pool:
            await pool.request("GET", "/warm", b"", {})
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout, match=r"GET http://127\.0\.0\.1:\d+/hang: no answer within 0\.1 s"):
                await pool.request("GET", "/hang", b"", {})
            assert time.monotonic() - started < 1.0
            assert (await pool.request("GET", "/after", b"", {})).text == "GET /after HTTP/1.1"


@pytest.mark.parametrize(
    ("handler", "error", "match"),
    [
        (close_on_next_request, httpx.RemoteProtocolError, "GET http://.*: "),
        (keep_alive(lambda _: reply(200, b"not gzip at all", "content-encoding: gzip")), httpx.RemoteProtocolError,
         "unparsable HTTP answer"),
    ],
    ids=["closed-unanswered", "corrupt-gzip"],
)  # fmt: skip
async def test_httpx_broken_answers_raise_httpx_transport_errors(
    handler: Handler, error: type[httpx.TransportError], match: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        asyncio.timeout(BOUND_S),
        RawServer(handler) as server,
        httpx_pool_for(server.url, monkeypatch) as pool,
    ):
        with pytest.raises(error, match=match):
            await pool.request("GET", "/", b"", {})


async def test_httpx_refused_connection_raises_connect_error(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with asyncio.timeout(BOUND_S), httpx_pool_for(url, monkeypatch) as pool:
        with pytest.raises(httpx.ConnectError, match=f"GET {url}/: "):
            await pool.request("GET", "/", b"", {})


# --- the same behaviour on uvloop, the loop collections run on ---------------------------------------------


@pytest.mark.parametrize(
    "scenario",
    [
        test_keep_alive_reuses_one_connection_for_sequential_requests,
        test_pool_never_opens_more_than_max_connections,
        test_answer_delimited_by_connection_close,
        test_get_on_a_reused_connection_closed_unanswered_is_sent_again,
        test_post_on_a_reused_connection_closed_unanswered_is_not_sent_again,
        test_no_answer_raises_read_timeout_and_the_pool_stays_usable,
        test_cancelled_request_leaves_the_pool_usable,
        test_refused_connection_raises_connect_error,
    ],
    ids=lambda scenario: scenario.__name__.removeprefix("test_"),
)
def test_on_uvloop(scenario: Callable[[], Awaitable[None]]) -> None:
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())  # type: ignore[arg-type]
