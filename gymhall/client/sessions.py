"""A rollout's session on a resources server: `AsyncResourcesSession` and its sync twin `ResourcesSession`.

Each session carries its own handle and cookies (the client keeps no cookie jar), so any number of
concurrent sessions can share one client and its connection pool without seeing each other's state.
The handle goes in the `x-gymhall-session` header when the server issued one, and the cookies every
response sets are sent back (latest value wins), which is all a NeMo Gym server needs.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from pydantic import BaseModel

from gymhall.client.messages import (
    JSON_HEADERS,
    Arguments,
    ReplyLike,
    as_json_object,
    check_reply,
    encode_arguments,
    tool_path,
    tool_result,
    tool_text,
    verify_result,
)
from gymhall.exceptions import ServerError
from gymhall.wire.contract import SESSION_COOKIE_ATTRIBUTES, SESSION_HEADER
from gymhall.wire.deadline import DEADLINE_HEADER, deadline_header_value

if TYPE_CHECKING:
    from typing import Self

    from gymhall.client.resources import AsyncResourcesClient, ResourcesClient

__all__ = ["REPLICA_URL_HEADER", "AsyncResourcesSession", "ResourcesSession"]

REPLICA_URL_HEADER = "x-gymhall-replica-url"
"""Set by `gymhall serve --ray`'s router on a seed's answer: the replica holding the new session. A
session's later calls go there directly; clients that ignore it are routed by their handle."""

# What follows the `;` of a gymhall server's session cookie: no expiry, so parsing it can be skipped.
_OWN_COOKIE_ATTRIBUTES = " " + SESSION_COOKIE_ATTRIBUTES


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


def _unknown_tool_text(error: ValueError) -> str:
    return orjson.dumps({"detail": str(error), "error": "unknown_tool"}).decode()


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
        self.replica_url: str | None = None
        """The replica holding this session, when a router of `gymhall serve --ray` named one at the seed;
        the session's later calls go straight to it (the router would send them there by the handle)."""
        self.deadline: float | None = None
        """The rollout's deadline (`time.monotonic()`): its time left goes with every request
        (`x-gymhall-deadline-s`), so the server's judge or sandbox stops when the rollout would."""
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
        if self.deadline is not None:
            headers[DEADLINE_HEADER] = deadline_header_value(self.deadline)
        return headers

    def _absorb(self, response: ReplyLike) -> None:
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

    def _seeded(self, response: ReplyLike) -> None:
        self._absorb(response)
        body = check_reply("POST", "/seed_session", response)
        self.seed_response = body if isinstance(body, dict) else {}
        self.handle = response.headers.get(SESSION_HEADER)
        self.replica_url = response.headers.get(REPLICA_URL_HEADER)

    def _verify_body(self, response: Mapping[str, Any] | BaseModel) -> bytes:
        return orjson.dumps({**self.row, "response": as_json_object(response, "The response")})

    def _fork_request(self, n: int) -> bytes:
        if self.handle is None:
            raise ServerError(
                "POST /fork_session needs a gymhall session handle, and this server issued none (a NeMo Gym "
                "server cannot fork). Seed each rollout with seed_session instead.",
                status_code=501,
            )
        return orjson.dumps({"n": n})

    def _forked_handles(self, response: ReplyLike) -> list[str]:
        self._absorb(response)
        body = check_reply("POST", "/fork_session", response)
        handles = body.get("sessions") if isinstance(body, dict) else None
        if not isinstance(handles, list) or not all(isinstance(h, str) for h in handles):
            raise ServerError(f"POST /fork_session answered without a list of sessions: {body!r:.200}", status_code=502)
        return handles

    def _adopt(self, child: _BaseResourcesSession, handle: str) -> None:
        """Make `child` a fork of this session: its handle, this session's row and cookies but its own handle."""
        child.handle = handle
        child.deadline = self.deadline
        child.replica_url = self.replica_url  # a fork lives where its parent does
        child.cookies = {name: handle if value == self.handle else value for name, value in self.cookies.items()}
        child.seed_response = {**self.seed_response, "session": handle} if self.seed_response else {}

    def _closed_by(self, response: ReplyLike) -> bool:
        self._absorb(response)
        body = check_reply("POST", "/close_session", response)
        return bool(body.get("closed")) if isinstance(body, dict) else False

    def __repr__(self) -> str:
        # The session id only: the handle's signature is a capability and should not end up in logs.
        session_id = self.handle.partition(".")[0] if self.handle else None
        return f"{type(self).__name__}(id={session_id!r}, closed={self._closed})"


class AsyncResourcesSession(_BaseResourcesSession):
    """One rollout's session on a resources server; made by `AsyncResourcesClient.seed_session`.

    Use it as `async with await client.seed_session(row) as session:` to close it on exit.
    """

    def __init__(self, client: AsyncResourcesClient, row: dict[str, Any]) -> None:
        super().__init__(row)
        self._client = client

    async def _post(self, path: str, content: bytes) -> ReplyLike:
        response = await self._client._send(
            "POST", path, content, {**JSON_HEADERS, **self._headers()}, replica=self.replica_url
        )
        self._absorb(response)
        return response

    async def call(self, name: str, arguments: Arguments = None, /, **kwargs: Any) -> Any:
        """Call tool `name` with `arguments` (mapping, model or JSON text) or keywords; returns the answer.

        Raises `ServerError` when the server refuses the call (bad arguments, unknown tool, closed session).
        """
        path = tool_path(name)
        return tool_result(name, await self._post(path, encode_arguments(arguments, kwargs)))

    async def call_text(self, name: str, arguments: Arguments = None, /, **kwargs: Any) -> str:
        """Call tool `name` and return the answer's text, a refusal (4xx) included: what an agent shows the model.

        A name that cannot be a tool comes back as a JSON error text, without a request. A 5xx (the
        environment failed) raises `ServerError`.
        """
        try:
            path = tool_path(name)
            content = encode_arguments(arguments, kwargs)
        except ValueError as exc:
            return _unknown_tool_text(exc)
        return tool_text(name, await self._post(path, content))

    async def verify(self, response: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
        """Grade the rollout: `POST /verify` with the seed row and `response`; the answer has `reward`."""
        return verify_result(await self._post("/verify", self._verify_body(response)))

    async def fork(self, n: int) -> list[AsyncResourcesSession]:
        """`n` new sessions, each holding its own copy of this session's state as it is now (`POST /fork_session`).

        Raises `ServerError` (501) where the environment cannot fork; this session stays as it was.
        """
        handles = self._forked_handles(await self._post("/fork_session", self._fork_request(n)))
        children = [AsyncResourcesSession(self._client, self.row) for _ in handles]
        for child, handle in zip(children, handles, strict=True):
            self._adopt(child, handle)
        return children

    async def close(self) -> bool:
        """Close the session on the server; returns whether it was live. Closing twice does nothing.

        Against a server that issued no handle (NeMo Gym) nothing is sent: such servers have no such endpoint.
        """
        if self._closed:
            return False
        self._closed = True
        if self.handle is None:
            return False
        reply = await self._client._send("POST", "/close_session", b"", self._headers(), replica=self.replica_url)
        return self._closed_by(reply)

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
        response = self._client._send(
            "POST", path, content, {**JSON_HEADERS, **self._headers()}, replica=self.replica_url
        )
        self._absorb(response)
        return response

    def call(self, name: str, arguments: Arguments = None, /, **kwargs: Any) -> Any:
        """Call tool `name` with `arguments` (mapping, model or JSON text) or keywords; returns the answer.

        Raises `ServerError` when the server refuses the call (bad arguments, unknown tool, closed session).
        """
        path = tool_path(name)
        return tool_result(name, self._post(path, encode_arguments(arguments, kwargs)))

    def call_text(self, name: str, arguments: Arguments = None, /, **kwargs: Any) -> str:
        """Call tool `name` and return the answer's text, a refusal (4xx) included: what an agent shows the model.

        A name that cannot be a tool comes back as a JSON error text, without a request. A 5xx (the
        environment failed) raises `ServerError`.
        """
        try:
            path = tool_path(name)
            content = encode_arguments(arguments, kwargs)
        except ValueError as exc:
            return _unknown_tool_text(exc)
        return tool_text(name, self._post(path, content))

    def verify(self, response: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
        """Grade the rollout: `POST /verify` with the seed row and `response`; the answer has `reward`."""
        return verify_result(self._post("/verify", self._verify_body(response)))

    def fork(self, n: int) -> list[ResourcesSession]:
        """`n` new sessions, each holding its own copy of this session's state as it is now (`POST /fork_session`)."""
        handles = self._forked_handles(self._post("/fork_session", self._fork_request(n)))
        children = [ResourcesSession(self._client, self.row) for _ in handles]
        for child, handle in zip(children, handles, strict=True):
            self._adopt(child, handle)
        return children

    def close(self) -> bool:
        """Close the session on the server; returns whether it was live. Closing twice does nothing.

        Against a server that issued no handle (NeMo Gym) nothing is sent: such servers have no such endpoint.
        """
        if self._closed:
            return False
        self._closed = True
        if self.handle is None:
            return False
        reply = self._client._send("POST", "/close_session", b"", self._headers(), replica=self.replica_url)
        return self._closed_by(reply)

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
