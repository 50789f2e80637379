"""The HTTP client gymhall's async hot paths use: one bounded keep-alive pool per base URL, no cookie jar.

gymhall uses three HTTP stacks, each for one reason:

- `http://` URLs (every server of a gymhall stack, vLLM and SGLang on a cluster) go through a lean
  HTTP/1.1 client written here, because it is the measured hot path: requests written as bytes on
  asyncio protocols, answers parsed by `httptools` (the parser uvicorn uses), about 40 µs of CPU per
  request, where aiohttp cost about 180 µs and httpx's async pool milliseconds at a few hundred in
  flight (measured on workload E; NeMo Gym saw 16,000 concurrent requests hang in httpx).
- `https://` URLs (and machines without `httptools`) go through httpx, because it is already a
  dependency and does TLS, and these few requests (a hosted model API) are not where the time goes;
  httpx also serves the sync `ResourcesClient` and the in-process ASGI transports (gymhall.client.transports).
- httpx2 comes with the `mcp` extra: the MCP SDK's client, used by gymhall.mcp only.

Transport failures are raised as httpx's exceptions, with the method and URL in the message, so
callers handle one family whichever client served them.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import ssl
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from gymhall.client.lean_pool import KEEPALIVE_S, LeanPool, RawReply, header_lines, httptools_parser

__all__ = ["HttpPool", "RawReply", "jarless_cookies"]


class _RefuseAllCookies(http.cookiejar.DefaultCookiePolicy):
    """Keeps an httpx client's jar empty: cookies belong to sessions, never to the shared client."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


def jarless_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing, for httpx clients (which always have one)."""
    return http.cookiejar.CookieJar(policy=_RefuseAllCookies())


class HttpPool:
    """A bounded keep-alive pool for one base URL; made lazily in the running event loop.

    `timeout_s` bounds each whole request (connecting, waiting for a connection, sending, reading);
    None leaves the bound to the caller.
    """

    def __init__(self, base_url: str, *, timeout_s: float | None, max_connections: int, headers: Mapping[str, str]):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self.headers = dict(headers)
        self._session: LeanPool | httpx.AsyncClient | None = None

    def _client(self) -> LeanPool | httpx.AsyncClient:
        if self._session is None:
            if urlsplit(self.base_url).scheme == "http" and httptools_parser() is not None:
                self._session = LeanPool(self.base_url, self.max_connections, self.headers)
            else:
                header_lines(self.headers)  # refused as the lean client refuses them, before any request
                limit = self.max_connections
                self._session = httpx.AsyncClient(
                    limits=httpx.Limits(
                        max_connections=limit, max_keepalive_connections=limit, keepalive_expiry=KEEPALIVE_S
                    ),
                    timeout=None,  # request() bounds the whole request, as on the lean path
                    headers=self.headers,
                    cookies=jarless_cookies(),  # cookies belong to sessions, sent explicitly
                    # The system's CA store (where a cluster's private CA is installed) and no proxy settings
                    # from the environment: what https requests got before httpx served them.
                    verify=ssl.create_default_context(),
                    trust_env=False,
                )
        return self._session

    async def request(self, method: str, path: str, content: bytes, headers: Mapping[str, str]) -> RawReply:
        """Send one request and read the whole answer; transport failures raise httpx's exceptions."""
        session = self._client()
        if isinstance(session, LeanPool):
            call = session.request(method, path, content, headers)
        else:
            call = self._httpx_request(session, method, path, content, headers)
        if self.timeout_s is None:  # bounded by the caller
            return await call
        try:
            async with asyncio.timeout(self.timeout_s):
                return await call
        except TimeoutError:
            url = self.base_url + path
            raise httpx.ReadTimeout(f"{method} {url}: no answer within {self.timeout_s} s") from None

    async def _httpx_request(
        self, client: httpx.AsyncClient, method: str, path: str, content: bytes, headers: Mapping[str, str]
    ) -> RawReply:
        url = self.base_url + (path if path.startswith("/") else "/" + path)
        header_lines(headers)
        try:
            reply = await client.request(method, url, content=content or None, headers=headers)
        except httpx.DecodingError as exc:  # a body that does not decompress, as the lean client reports it
            raise httpx.RemoteProtocolError(f"{method} {url}: unparsable HTTP answer: {exc}") from None
        except httpx.TransportError as exc:
            raise type(exc)(f"{method} {url}: {exc}") from None
        return RawReply(reply.status_code, list(reply.headers.raw), reply.content)

    async def aclose(self) -> None:
        """Close the pool's connections."""
        session, self._session = self._session, None
        if isinstance(session, LeanPool):
            session.close()
            await asyncio.sleep(0)  # let the transports finish closing
        elif session is not None:
            await session.aclose()
