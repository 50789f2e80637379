"""The in-process transports: a resources client that calls an ASGI app directly, without a port.

`InProcessApp` serves `AsyncResourcesClient.for_app`: one ASGI call per request, no HTTP at all.
`SyncASGITransport` serves `ResourcesClient.for_app`: httpx's ASGI transport run on a private event loop
in the calling thread. Both bound each request by the client's read timeout, which httpx alone applies
only to sockets.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from gymhall.client.http import RawReply

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["IN_PROCESS_URL", "InProcessApp", "SyncASGITransport"]

IN_PROCESS_URL = "http://testserver"
"""The base URL of a client of an app in this process (the host httpx and Starlette's test client use)."""


class InProcessApp:
    """Calls an ASGI app directly, one request per call, bounded by the client's timeout."""

    def __init__(self, app: ASGIApp, timeout: float | None, *, owns_app: bool = False) -> None:
        self.app = app
        self.timeout = timeout
        self.owns_app = owns_app

    async def shutdown(self) -> None:
        """Run the app's shutdown hooks when the client owns the app."""
        shutdown = getattr(self.app, "shutdown", None)  # a GymApp's hooks: judges, worker pools
        if self.owns_app and shutdown is not None and inspect.iscoroutinefunction(shutdown):
            await shutdown()

    async def request(self, method: str, path: str, content: bytes, headers: Mapping[str, str]) -> RawReply:
        """Send one request to the app and collect its whole answer."""
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


class SyncASGITransport(httpx.BaseTransport):
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
