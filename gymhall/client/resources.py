"""Clients of a resources server: `AsyncResourcesClient` and its sync twin `ResourcesClient`.

    async with AsyncResourcesClient("http://127.0.0.1:8000") as env:
        tools = await env.list_tools()
        async with await env.seed_session(row) as session:
            out = await session.call("increment", by=2)
            result = await session.verify(response)

Each session carries its own handle and cookies and the client keeps no cookie jar, so any number
of concurrent sessions can share one client (and its connection pool) without seeing each other's
state. The handle goes in the `x-gymhall-session` header when the server issued one, and the
cookies every response sets are sent back (latest value wins), which is all a NeMo Gym server needs.
"""

from __future__ import annotations

import asyncio
import email.utils
import http.cookiejar
import inspect
import re
import threading
import time
import urllib.request
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import orjson
from pydantic import BaseModel

from gymhall.client.http import HttpPool, RawReply
from gymhall.exceptions import ServerError
from gymhall.wire.contract import RESERVED_ROUTES, SESSION_COOKIE_ATTRIBUTES, SESSION_HEADER

if TYPE_CHECKING:
    from typing import Self

    from starlette.types import ASGIApp

__all__ = ["AsyncResourcesClient", "AsyncResourcesSession", "ResourcesClient", "ResourcesSession"]

# OpenAI's rule for function names; anything else cannot be a tool and must not become a URL path.
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

_IN_PROCESS_URL = "http://testserver"

# What follows the `;` of a gymhall server's session cookie: no expiry, so parsing it can be skipped.
_OWN_COOKIE_ATTRIBUTES = " " + SESSION_COOKIE_ATTRIBUTES

Arguments = Mapping[str, Any] | BaseModel | str | bytes | None
"""Tool arguments: a mapping, a pydantic model, or JSON text exactly as a model emitted it."""


class _RefuseAllCookies(http.cookiejar.DefaultCookiePolicy):
    """Keeps httpx's client-level jar empty: cookies belong to sessions, never to the shared client."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


def _jarless() -> http.cookiejar.CookieJar:
    return http.cookiejar.CookieJar(policy=_RefuseAllCookies())


def _as_json_object(value: Mapping[str, Any] | BaseModel | None, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{what} must be a mapping or a pydantic model, not {type(value).__name__}.")


def _encode_arguments(arguments: Arguments, kwargs: Mapping[str, Any]) -> bytes:
    if isinstance(arguments, str | bytes):
        if kwargs:
            raise TypeError("Pass tool arguments either as JSON text or as keywords, not both.")
        # Sent unchanged: a model's malformed JSON must reach the server, whose 422 tells the model why.
        return arguments.encode() if isinstance(arguments, str) else arguments
    return orjson.dumps({**_as_json_object(arguments, "Tool arguments"), **kwargs})


def _tool_path(name: str) -> str:
    if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a tool name: tool names are 1-64 letters, digits, '_' or '-'.")
    if name in RESERVED_ROUTES:
        use = {"verify": "session.verify()", "close_session": "session.close()"}.get(name, "the client")
        raise ValueError(f"{name!r} is a resources-server endpoint, not a tool. Use {use} instead.")
    return "/" + name


class _HeadersLike(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def get_list(self, key: str) -> list[str]: ...


class _ReplyLike(Protocol):
    """What the client reads of an answer: an `httpx.Response`, or a `RawReply` (gymhall.client.http or in-process)."""

    @property
    def status_code(self) -> int: ...
    @property
    def content(self) -> bytes: ...
    @property
    def text(self) -> str: ...
    @property
    def is_success(self) -> bool: ...
    @property
    def headers(self) -> _HeadersLike: ...


class _InProcessApp:
    """Calls an ASGI app directly, one request per call, bounded by the client's timeout."""

    def __init__(self, app: ASGIApp, timeout: float | None, *, owns_app: bool = False) -> None:
        self.app = app
        self.timeout = timeout
        self.owns_app = owns_app

    async def shutdown(self) -> None:
        shutdown = getattr(self.app, "shutdown", None)  # a GymApp's hooks: judges, worker pools
        if self.owns_app and shutdown is not None and inspect.iscoroutinefunction(shutdown):
            await shutdown()

    async def request(self, method: str, path: str, content: bytes, headers: Mapping[str, str]) -> RawReply:
        raw_headers = [(b"host", b"testserver"), (b"content-length", str(len(content)).encode())]
        raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 0),
            "server": ("testserver", 80),
        }
        sent = False
        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        async def send(message: Mapping[str, Any]) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            if self.timeout is None:  # bounded by the caller (an agent's rollout deadline)
                await self.app(scope, receive, send)
            else:
                async with asyncio.timeout(self.timeout):
                    await self.app(scope, receive, send)
        except TimeoutError:
            raise httpx.ReadTimeout(f"{method} {path}: the app did not answer within {self.timeout} s.") from None
        return RawReply(status, response_headers, b"".join(chunks))


def _decode(response: _ReplyLike) -> Any:
    """The JSON body, the text when it is not JSON, None when empty."""
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text


def _describe(body: Any) -> str:
    if isinstance(body, dict):
        message, detail = body.get("message"), body.get("detail")
        if isinstance(message, str):
            return message
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list) and detail and all(isinstance(e, dict) for e in detail):
            parts = []
            for error in detail[:3]:
                loc = [str(p) for p in error.get("loc", ())]
                field = ".".join(loc[1:] if loc[:1] == ["body"] else loc) or "(the body)"
                parts.append(f"field {field!r}: {error.get('msg', 'invalid')}")
            more = f" (and {len(detail) - 3} more)" if len(detail) > 3 else ""
            return "; ".join(parts) + more
        if detail is not None:
            return str(detail)
    if body is None or body == "":
        return "(empty body)"
    text = body if isinstance(body, str) else orjson.dumps(body).decode()
    return text if len(text) <= 500 else text[:500] + "..."


def _server_error(method: str, path: str, response: _ReplyLike, hint: str = "") -> ServerError:
    body = _decode(response)
    message = f"{method} {path} failed with status {response.status_code}: {_describe(body)}"
    retry_after = response.headers.get("retry-after")
    if retry_after is not None:
        message += f" (retry after {retry_after} s)"
    if hint:
        message += f". {hint}"
    return ServerError(message, status_code=response.status_code, body=body)


def _check(method: str, path: str, response: _ReplyLike, hint: str = "") -> Any:
    if not response.is_success:
        raise _server_error(method, path, response, hint)
    return _decode(response)


def _tool_result(name: str, response: _ReplyLike) -> Any:
    hint = ""
    if response.status_code == 404 and _decode(response) == {"detail": "Not Found"}:
        hint = f"The server has no tool {name!r}; GET /tools (or the dataset row) lists its tools"
    return _check("POST", "/" + name, response, hint)


def _cookie_expired(attributes: str) -> bool:
    expires: str | None = None
    for attribute in attributes.split(";"):
        key, _, value = attribute.partition("=")
        key = key.strip().lower()
        if key == "max-age":
            try:
                return int(value.strip()) <= 0  # Max-Age wins over Expires (RFC 6265 5.3)
            except ValueError:
                continue
        if key == "expires":
            expires = value.strip()
    if expires is None:
        return False
    try:
        return email.utils.parsedate_to_datetime(expires).timestamp() <= time.time()
    except (TypeError, ValueError):
        return False


class _BaseResourcesSession:
    """What both session classes share: the handle, the cookies, and building and reading requests."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        """The dataset row the session was seeded with; `verify` sends it back with the response."""
        self.handle: str | None = None
        """The signed session handle (None against a NeMo Gym server, which only uses cookies)."""
        self.cookies: dict[str, str] = {}
        """The cookies the server set for this session, by name; sent back on every request."""
        self.seed_response: dict[str, Any] = {}
        """The JSON answered by `POST /seed_session`."""
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.handle is not None:
            headers[SESSION_HEADER] = self.handle
        if self.cookies:
            headers["cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return headers

    def _absorb(self, response: _ReplyLike) -> None:
        """Keep the cookies `response` sets; Path and Domain are ignored, a session talks to one server."""
        for header in response.headers.get_list("set-cookie"):
            pair, _, attributes = header.partition(";")
            name, eq, value = pair.partition("=")
            name = name.strip()
            if not eq or not name:
                continue
            if attributes != _OWN_COOKIE_ATTRIBUTES and _cookie_expired(attributes):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value.strip()

    def _seeded(self, response: _ReplyLike) -> None:
        self._absorb(response)
        body = _check("POST", "/seed_session", response)
        self.seed_response = body if isinstance(body, dict) else {}
        self.handle = response.headers.get(SESSION_HEADER)

    def _verify_body(self, response: Mapping[str, Any] | BaseModel) -> bytes:
        return orjson.dumps({**self.row, "response": _as_json_object(response, "The response")})

    @staticmethod
    def _verified(response: _ReplyLike) -> dict[str, Any]:
        body = _check("POST", "/verify", response)
        if not isinstance(body, dict):
            raise ServerError(f"POST /verify answered {body!r}, not a JSON object.", status_code=200, body=body)
        return body

    def _closed_by(self, response: _ReplyLike) -> bool:
        self._absorb(response)
        body = _check("POST", "/close_session", response)
        return bool(body.get("closed")) if isinstance(body, dict) else False

    def __repr__(self) -> str:
        # The session id only: the handle's signature is a capability and should not end up in logs.
        session_id = self.handle.partition(".")[0] if self.handle else None
        return f"{type(self).__name__}(id={session_id!r}, closed={self._closed})"


_JSON = {"content-type": "application/json"}


class AsyncResourcesSession(_BaseResourcesSession):
    """One rollout's session on a resources server; made by `AsyncResourcesClient.seed_session`.

    Use it as `async with await client.seed_session(row) as session:` to close it on exit.
    """

    def __init__(self, client: AsyncResourcesClient, row: dict[str, Any]) -> None:
        super().__init__(row)
        self._client = client

    async def _post(self, path: str, content: bytes) -> _ReplyLike:
        response = await self._client._send("POST", path, content, {**_JSON, **self._headers()})
        self._absorb(response)
        return response

    async def call(self, name: str, arguments: Arguments = None, /, **kwargs: Any) -> Any:
        """Call tool `name` with `arguments` (mapping, model or JSON text) or keywords; returns the answer.

        Raises `ServerError` when the server refuses the call (bad arguments, unknown tool, closed session).
        """
        path = _tool_path(name)
        return _tool_result(name, await self._post(path, _encode_arguments(arguments, kwargs)))

    async def call_text(self, name: str, arguments: Arguments = None, /, **kwargs: Any) -> str:
        """Call tool `name` and return the answer's text whatever its status: what an agent shows the model.

        A name that cannot be a tool comes back as a JSON error text, without a request.
        """
        try:
            path = _tool_path(name)
            content = _encode_arguments(arguments, kwargs)
        except ValueError as exc:
            return orjson.dumps({"detail": str(exc), "error": "unknown_tool"}).decode()
        return (await self._post(path, content)).text

    async def verify(self, response: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
        """Grade the rollout: `POST /verify` with the seed row and `response`; the answer has `reward`."""
        return self._verified(await self._post("/verify", self._verify_body(response)))

    async def close(self) -> bool:
        """Close the session on the server; returns whether it was live. Closing twice does nothing.

        Against a server that issued no handle (NeMo Gym) nothing is sent: such servers have no such endpoint.
        """
        if self._closed:
            return False
        self._closed = True
        if self.handle is None:
            return False
        return self._closed_by(await self._client._send("POST", "/close_session", b"", self._headers()))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            await self.close()
            return
        # Do not let a failed close hide the error that ended the block.
        try:
            await self.close()
        except (ServerError, httpx.HTTPError):
            pass


class ResourcesSession(_BaseResourcesSession):
    """One rollout's session on a resources server; made by `ResourcesClient.seed_session`.

    Use it as `with client.seed_session(row) as session:` to close it on exit.
    """

    def __init__(self, client: ResourcesClient, row: dict[str, Any]) -> None:
        super().__init__(row)
        self._client = client

    def _post(self, path: str, content: bytes) -> httpx.Response:
        response = self._client._http.post(path, content=content, headers={**_JSON, **self._headers()})
        self._absorb(response)
        return response

    def call(self, name: str, arguments: Arguments = None, /, **kwargs: Any) -> Any:
        """Call tool `name` with `arguments` (mapping, model or JSON text) or keywords; returns the answer.

        Raises `ServerError` when the server refuses the call (bad arguments, unknown tool, closed session).
        """
        path = _tool_path(name)
        return _tool_result(name, self._post(path, _encode_arguments(arguments, kwargs)))

    def call_text(self, name: str, arguments: Arguments = None, /, **kwargs: Any) -> str:
        """Call tool `name` and return the answer's text whatever its status: what an agent shows the model.

        A name that cannot be a tool comes back as a JSON error text, without a request.
        """
        try:
            path = _tool_path(name)
            content = _encode_arguments(arguments, kwargs)
        except ValueError as exc:
            return orjson.dumps({"detail": str(exc), "error": "unknown_tool"}).decode()
        return self._post(path, content).text

    def verify(self, response: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
        """Grade the rollout: `POST /verify` with the seed row and `response`; the answer has `reward`."""
        return self._verified(self._post("/verify", self._verify_body(response)))

    def close(self) -> bool:
        """Close the session on the server; returns whether it was live. Closing twice does nothing.

        Against a server that issued no handle (NeMo Gym) nothing is sent: such servers have no such endpoint.
        """
        if self._closed:
            return False
        self._closed = True
        if self.handle is None:
            return False
        return self._closed_by(self._client._http.post("/close_session", headers=self._headers()))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except (ServerError, httpx.HTTPError):
            pass


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    value = timeout.get("read") if isinstance(timeout, dict) else None
    return float(value) if isinstance(value, int | float) else None


class _TimedASGITransport(httpx.ASGITransport):
    """httpx's in-process transport, plus the client's read timeout (httpx only applies it to sockets)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limit = _read_timeout(request)
        try:
            # The app runs to completion inside this call (httpx buffers its body), so this bounds all of it.
            async with asyncio.timeout(limit):
                return await super().handle_async_request(request)
        except TimeoutError:
            raise httpx.ReadTimeout(f"The app did not answer within {limit} s.", request=request) from None


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _SyncASGITransport(httpx.BaseTransport):
    """Serves a sync client's requests from an ASGI app in this thread, on a private event loop."""

    def __init__(self, app: ASGIApp) -> None:
        self._transport = _TimedASGITransport(app)
        self._runner = asyncio.Runner()
        self._lock = threading.Lock()  # one loop, so one request at a time

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Re-made with a bytes body, which the async transport can read.
        inner = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.read(),
            extensions=request.extensions,
        )
        if _loop_running():
            raise RuntimeError(
                "ResourcesClient.for_app cannot run inside a running event loop; "
                "use AsyncResourcesClient.for_app there."
            )
        with self._lock:
            status, headers, body = self._runner.run(self._send(inner))
        return httpx.Response(status, headers=headers, content=body)

    async def _send(self, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = await self._transport.handle_async_request(request)
        # Raw bytes, still encoded as the headers say: the outer client decodes them once.
        body = b"".join([chunk async for chunk in response.aiter_raw()])
        return response.status_code, response.headers.raw, body

    def close(self) -> None:
        with self._lock:
            self._runner.close()


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
            "cookies": _jarless(),
        }

    def _tools(self, response: _ReplyLike) -> list[dict[str, Any]]:
        body = _check("GET", "/tools", response, self._NO_TOOLS_HINT if response.status_code == 404 else "")
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
        self._in_process: _InProcessApp | None = None
        self._default_headers = dict(headers or {})
        # Over the network, gymhall.client.http's pool: httpx costs milliseconds of CPU a request at high concurrency.
        self._pool = (
            HttpPool(
                str(base_url),
                timeout_s=self._options["timeout"].read,
                max_connections=max_connections,
                headers=self._default_headers,
            )
            if transport is None and str(base_url) != _IN_PROCESS_URL
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
        client = cls(_IN_PROCESS_URL, **kwargs)
        client._in_process = _InProcessApp(app, client._options["timeout"].read, owns_app=owns_app)
        return client

    async def _send(self, method: str, path: str, content: bytes = b"", headers: Mapping[str, str] = {}) -> _ReplyLike:
        if self._in_process is not None:
            merged = {**self._default_headers, **headers} if self._default_headers else headers
            return await self._in_process.request(method, path, content, merged)
        if self._pool is not None:
            return await self._pool.request(method, path, content, headers)
        return await self._http.request(method, path, content=content or None, headers=headers)

    async def health(self) -> bool:
        """Whether the server answers `GET /` with a success status."""
        try:
            return (await self._send("GET", "/")).is_success
        except httpx.TransportError:
            return False

    async def list_tools(self) -> list[dict[str, Any]]:
        """The server's tools as OpenAI Responses function-tool schemas (`GET /tools`)."""
        return self._tools(await self._send("GET", "/tools"))

    async def seed_session(self, row: Mapping[str, Any] | BaseModel | None = None) -> AsyncResourcesSession:
        """Start a session from a dataset row (`POST /seed_session`)."""
        session = AsyncResourcesSession(self, _as_json_object(row, "The row"))
        session._seeded(await self._send("POST", "/seed_session", orjson.dumps(session.row), _JSON))
        return session

    async def verify(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /verify` without a session (NeMo Gym's stateless reverify): the row with its `response`."""
        return _BaseResourcesSession._verified(await self._send("POST", "/verify", orjson.dumps(body), _JSON))

    async def aclose(self) -> None:
        """Close the connection pool (sessions left open expire on the server); see `for_app` for in-process apps."""
        if self._pool is not None:
            await self._pool.aclose()
        if self._httpx is not None:
            await self._httpx.aclose()
        if self._in_process is not None:
            await self._in_process.shutdown()

    async def __aenter__(self) -> Self:
        if self._pool is None and self._in_process is None:  # httpx serves the requests
            await self._http.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._pool is not None:
            await self._pool.aclose()
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

    @classmethod
    def for_app(cls, app: ASGIApp, **kwargs: Any) -> ResourcesClient:
        """A client of `app` served in this thread on a private event loop, without a port or a server thread.

        The app's lifespan does not run. Use it from sync code; inside async code use `AsyncResourcesClient`.
        """
        return cls(_IN_PROCESS_URL, transport=_SyncASGITransport(app), **kwargs)

    def health(self) -> bool:
        """Whether the server answers `GET /` with a success status."""
        try:
            return self._http.get("/").is_success
        except httpx.TransportError:
            return False

    def list_tools(self) -> list[dict[str, Any]]:
        """The server's tools as OpenAI Responses function-tool schemas (`GET /tools`)."""
        return self._tools(self._http.get("/tools"))

    def seed_session(self, row: Mapping[str, Any] | BaseModel | None = None) -> ResourcesSession:
        """Start a session from a dataset row (`POST /seed_session`)."""
        session = ResourcesSession(self, _as_json_object(row, "The row"))
        response = self._http.post("/seed_session", content=orjson.dumps(session.row), headers=_JSON)
        session._seeded(response)
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
