"""Clients of a resources server: `AsyncResourcesClient` and its sync twin `ResourcesClient`.

    async with AsyncResourcesClient("http://127.0.0.1:8000") as env:
        tools = await env.list_tools()
        async with await env.seed_session(row) as session:
            out = await session.call("increment", by=2)
            result = await session.verify(response)

A client holds the connection pool and the settings; the sessions it seeds (gymhall.client.sessions) hold
each rollout's handle and cookies, so one client serves any number of concurrent sessions.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from pydantic import BaseModel

from gymhall import tracing
from gymhall.client.http import HttpPool, jarless_cookies
from gymhall.client.messages import (
    JSON_HEADERS,
    ReplyLike,
    as_json_object,
    check_reply,
    unreachable,
    verify_result,
)
from gymhall.client.sessions import AsyncResourcesSession, ResourcesSession
from gymhall.client.transports import IN_PROCESS_URL, InProcessApp, SyncASGITransport
from gymhall.exceptions import ServerError

if TYPE_CHECKING:
    from typing import Self

    from starlette.types import ASGIApp

# The sessions are exported here too: they are what this module's clients hand out.
__all__ = ["AsyncResourcesClient", "AsyncResourcesSession", "ResourcesClient", "ResourcesSession"]


class _BaseResourcesClient:
    """What both clients share: their settings and the messages of their errors."""

    _NO_TOOLS_HINT = (
        "This server has no GET /tools (NeMo Gym resources servers have none): take the tool schemas "
        "from the dataset row's responses_create_params.tools instead"
    )

    def __init__(self, base_url: str | httpx.URL) -> None:
        self.base_url = str(base_url).rstrip("/")

    @staticmethod
    def _http_options(
        base_url: str | httpx.URL,
        timeout: float | httpx.Timeout,
        headers: Mapping[str, str] | None,
        max_connections: int,
    ) -> dict[str, Any]:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        return {
            "base_url": base_url,
            "timeout": timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            "headers": dict(headers or {}),
            "limits": limits,
            "cookies": jarless_cookies(),
        }

    def _tools(self, response: ReplyLike) -> list[dict[str, Any]]:
        body = check_reply("GET", "/tools", response, self._NO_TOOLS_HINT if response.status_code == 404 else "")
        if not isinstance(body, list):
            raise ServerError(f"GET /tools answered {body!r}, not a JSON list.", status_code=200, body=body)
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"


class AsyncResourcesClient(_BaseResourcesClient):
    """An async client of a gymhall or NeMo Gym resources server.

    Args:
        base_url: the server's URL, e.g. `http://127.0.0.1:8000`.
        transport: an httpx transport to use instead of the network (e.g. `httpx.ASGITransport(app)`).
        timeout: seconds (or an `httpx.Timeout`) allowed for each request.
        headers: headers sent with every request (e.g. authorization).
        max_connections: the size of the connection pool shared by all sessions.
    """

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 60.0,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 256,
    ) -> None:
        super().__init__(base_url)
        self._options = self._http_options(base_url, timeout, headers, max_connections)
        self._transport = transport
        self._httpx: httpx.AsyncClient | None = None
        self._in_process: InProcessApp | None = None
        self._replicas: dict[str, HttpPool] = {}  # a pool per replica a router named (`gymhall serve --ray`)
        self._default_headers = dict(headers or {})
        # Over the network, gymhall.client.http's pool: on plain http its lean client, where httpx's async pool
        # costs milliseconds of CPU a request at high concurrency.
        self._pool = (
            HttpPool(
                str(base_url),
                timeout_s=self._options["timeout"].read,
                max_connections=max_connections,
                headers=self._default_headers,
            )
            if transport is None and str(base_url) != IN_PROCESS_URL
            else None
        )

    @property
    def _http(self) -> httpx.AsyncClient:
        # Made on first use: the in-process and pooled paths never need httpx's client (it loads TLS certificates).
        if self._httpx is None:
            self._httpx = httpx.AsyncClient(transport=self._transport, **self._options)
        return self._httpx

    @classmethod
    def for_app(cls, app: ASGIApp, *, owns_app: bool = False, **kwargs: Any) -> AsyncResourcesClient:
        """A client of `app` called directly in this process: no port, no HTTP; its lifespan does not run.

        With `owns_app` (an app built for this client alone), closing the client runs the app's shutdown
        hooks (judges, worker pools), as a server does when it stops.
        """
        client = cls(IN_PROCESS_URL, **kwargs)
        client._in_process = InProcessApp(app, client._options["timeout"].read, owns_app=owns_app)
        return client

    async def _send(
        self,
        method: str,
        path: str,
        content: bytes = b"",
        headers: Mapping[str, str] = {},
        *,
        replica: str | None = None,
    ) -> ReplyLike:
        pool = self._replica_pool(replica) if replica else self._pool
        if tracing.tracer is not None:  # tracing on: a client span per request, its context in the headers
            send = functools.partial(self._send_plain, pool=pool)
            return await tracing.resources_call(send, method, path, content, headers, replica or self.base_url)
        return await self._send_plain(method, path, content, headers, pool=pool)

    def _replica_pool(self, url: str) -> HttpPool | None:
        """The pool for a replica's URL; None (the client's own path) in process or with a transport of its own."""
        if self._pool is None:
            return None
        pool = self._replicas.get(url)
        if pool is None:
            pool = self._replicas[url] = HttpPool(
                url,
                timeout_s=self._pool.timeout_s,
                max_connections=self._pool.max_connections,
                headers=self._default_headers,
            )
        return pool

    async def _send_plain(
        self, method: str, path: str, content: bytes, headers: Mapping[str, str], *, pool: HttpPool | None = None
    ) -> ReplyLike:
        if self._in_process is not None:
            merged = {**self._default_headers, **headers} if self._default_headers else headers
            return await self._in_process.request(method, path, content, merged)
        try:
            if pool is not None:
                return await pool.request(method, path, content, headers)
            return await self._http.request(method, path, content=content or None, headers=headers)
        except httpx.ConnectError as exc:  # nothing listens there: say so, without httpx's traceback
            raise unreachable(pool.base_url if pool is not None else self.base_url, method, path, exc) from None

    async def health(self) -> bool:
        """Whether the server answers `GET /` with a success status."""
        try:
            return (await self._send("GET", "/")).is_success
        except httpx.TransportError:
            return False

    async def list_tools(self) -> list[dict[str, Any]]:
        """The server's tools as OpenAI Responses function-tool schemas (`GET /tools`)."""
        return self._tools(await self._send("GET", "/tools"))

    async def seed_session(
        self, row: Mapping[str, Any] | BaseModel | None = None, *, deadline: float | None = None
    ) -> AsyncResourcesSession:
        """Start a session from a dataset row (`POST /seed_session`).

        `deadline` (a `time.monotonic()` time) is the rollout's: its time left goes with the seed and
        every later call of the session (`gymhall.wire.deadline`).
        """
        session = AsyncResourcesSession(self, as_json_object(row, "The row"))
        session.deadline = deadline
        headers = JSON_HEADERS if deadline is None else {**JSON_HEADERS, **session._headers()}
        session._seeded(await self._send("POST", "/seed_session", orjson.dumps(session.row), headers))
        return session

    async def verify(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /verify` without a session (NeMo Gym's stateless reverify): the row with its `response`."""
        return verify_result(await self._send("POST", "/verify", orjson.dumps(body), JSON_HEADERS))

    async def aclose(self) -> None:
        """Close the connection pool (sessions left open expire on the server); see `for_app` for in-process apps."""
        await self._close_pools()
        if self._httpx is not None:
            await self._httpx.aclose()
        if self._in_process is not None:
            await self._in_process.shutdown()

    async def _close_pools(self) -> None:
        for pool in [*self._replicas.values(), *([self._pool] if self._pool is not None else [])]:
            await pool.aclose()

    async def __aenter__(self) -> Self:
        if self._pool is None and self._in_process is None:  # httpx serves the requests
            await self._http.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close_pools()
        if self._httpx is not None:
            await self._httpx.__aexit__(exc_type, exc, tb)
        if self._in_process is not None:
            await self._in_process.shutdown()


class ResourcesClient(_BaseResourcesClient):
    """A client of a gymhall or NeMo Gym resources server; the sync twin of `AsyncResourcesClient`.

    Args:
        base_url: the server's URL, e.g. `http://127.0.0.1:8000`.
        transport: an httpx transport to use instead of the network.
        timeout: seconds (or an `httpx.Timeout`) allowed for each request.
        headers: headers sent with every request (e.g. authorization).
        max_connections: the size of the connection pool shared by all sessions.
    """

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = 60.0,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 256,
    ) -> None:
        super().__init__(base_url)
        options = self._http_options(base_url, timeout, headers, max_connections)
        self._http = httpx.Client(transport=transport, **options)
        self._follows_replicas = transport is None  # a transport of its own serves every request

    @classmethod
    def for_app(cls, app: ASGIApp, **kwargs: Any) -> ResourcesClient:
        """A client of `app` served in this thread on a private event loop, without a port or a server thread.

        The app's lifespan does not run. Use it from sync code; inside async code use `AsyncResourcesClient`.
        """
        return cls(IN_PROCESS_URL, transport=SyncASGITransport(app), **kwargs)

    def _send(
        self,
        method: str,
        path: str,
        content: bytes = b"",
        headers: Mapping[str, str] = {},
        *,
        replica: str | None = None,
    ) -> httpx.Response:
        base = replica if replica and self._follows_replicas else None
        try:
            return self._http.request(method, (base or "") + path, content=content or None, headers=headers)
        except httpx.ConnectError as exc:  # nothing listens there: say so, without httpx's traceback
            raise unreachable(base or self.base_url, method, path, exc) from None

    def health(self) -> bool:
        """Whether the server answers `GET /` with a success status."""
        try:
            return self._send("GET", "/").is_success
        except httpx.TransportError:
            return False

    def list_tools(self) -> list[dict[str, Any]]:
        """The server's tools as OpenAI Responses function-tool schemas (`GET /tools`)."""
        return self._tools(self._send("GET", "/tools"))

    def seed_session(self, row: Mapping[str, Any] | BaseModel | None = None) -> ResourcesSession:
        """Start a session from a dataset row (`POST /seed_session`)."""
        session = ResourcesSession(self, as_json_object(row, "The row"))
        session._seeded(self._send("POST", "/seed_session", orjson.dumps(session.row), JSON_HEADERS))
        return session

    def close(self) -> None:
        """Close the connection pool (sessions left open expire on the server)."""
        self._http.close()

    def __enter__(self) -> Self:
        self._http.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.__exit__(exc_type, exc, tb)
