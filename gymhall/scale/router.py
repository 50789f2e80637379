"""`ReplicaRouter`: one address for an instance's replicas, for clients that know one URL (curl, NeMo Gym's agent).

A session lives on the replica that seeded it, and its handle says which: every replica signs its
handles with a secret of its own (`gymhall.scale.serving` gives each one), so the replica whose signer
accepts a handle is the one holding its session. The router reads the handle where the server does (the
`x-gymhall-session` header, else the instance's session cookie), passes the request and the answer on
unchanged, and adds `x-gymhall-replica` (which replica answered) and `x-gymhall-replica-url` (where it
serves) to the answer. gymhall's own clients read the latter at the seed and send the session's later
calls straight to the replica (`gymhall.client.sessions`), so the router carries only their seeds; other
clients are routed by their handle. Nothing is remembered per session: a router can restart without
losing one.

A seed, and a request without a handle (`GET /tools`, a stateless verify, any call to an agent or a
model server), goes to the replica with the fewest requests in flight, in turn among equals. A replica Ray
reports dead (`mark_down`) gets no new request; its sessions' requests are answered 503 naming it,
which a collector retries as a new rollout, seeded on a replica that is up.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from gymhall.client.http import HttpPool
from gymhall.client.sessions import REPLICA_URL_HEADER
from gymhall.exceptions import InvalidSessionHandle
from gymhall.server.sessions import HandleSigner
from gymhall.wire.contract import SESSION_HEADER

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

__all__ = ["REPLICA_HEADER", "Replica", "ReplicaRouter"]

REPLICA_HEADER = "x-gymhall-replica"
"""Added to every answer the router passes on: the replica that answered (`weather#1`)."""

# Hop-by-hop headers (RFC 9110 7.6.1) and those the router sets itself; never passed on.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",  # the replica's answer arrives decompressed
    }
)
_SESSION_HEADER = SESSION_HEADER.encode()


@dataclass
class Replica:
    """One replica as the router sees it: where it serves, its node, its signer, and whether it is up."""

    instance: str
    index: int
    url: str
    node_id: str = ""
    node_ip: str = ""
    signer: HandleSigner | None = field(default=None, repr=False)  # None: its server has no sessions
    down: str | None = None  # why Ray says it is gone; None while it is up
    in_flight: int = 0
    requests: int = 0  # passed on to it, in all
    _pool: HttpPool | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """The replica's name, e.g. `weather#1`."""
        return f"{self.instance}#{self.index}"

    def owns(self, handle: str) -> bool:
        """Whether `handle` was signed by this replica (so its session lives here)."""
        if self.signer is None:
            return False
        try:
            self.signer.unsign(handle)
        except InvalidSessionHandle:
            return False
        return True

    def pool(self, timeout_s: float | None, max_connections: int) -> HttpPool:
        if self._pool is None:  # made in the router's event loop, on first use
            self._pool = HttpPool(self.url, timeout_s=timeout_s, max_connections=max_connections, headers={})
        return self._pool


class ReplicaRouter:
    """An ASGI app passing each request to the replica that holds its session, or to the least busy one."""

    def __init__(
        self,
        instance: str,
        replicas: Sequence[Replica],
        *,
        cookie_name: str | None = None,
        timeout_s: float | None = 900.0,
        max_body_bytes: int = 64 * 1024 * 1024,
        max_connections: int = 1024,
    ) -> None:
        if not replicas:
            raise ValueError(f"a router needs at least one replica of {instance!r}")
        self.instance = instance
        self.replicas = list(replicas)
        self.cookie_name = cookie_name
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self.max_connections = max_connections
        self._turn = itertools.count()

    def mark_down(self, replica: Replica, reason: str) -> None:
        """Send `replica` nothing new; its sessions' requests get 503 naming it. Safe from any thread."""
        replica.down = reason or "its actor died"

    def owner(self, handle: str) -> Replica | None:
        """The replica whose signer accepts `handle` (up or down); None if no replica signed it."""
        return next((replica for replica in self.replicas if replica.owns(handle)), None)

    def least_busy(self) -> Replica | None:
        """The up replica with the fewest requests in flight, taking turns among equals; None if none is up."""
        up = [replica for replica in self.replicas if replica.down is None]
        if not up:
            return None
        start = next(self._turn) % len(up)
        return min(up[start:] + up[:start], key=lambda replica: replica.in_flight)

    async def aclose(self) -> None:
        """Close the connections to every replica."""
        for replica in self.replicas:
            if replica._pool is not None:
                with contextlib.suppress(Exception):
                    await replica._pool.aclose()
                replica._pool = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets: no gymhall server speaks them
        headers, handle = self._request_headers(scope)
        seed = scope["path"] == "/seed_session"  # a new session, wherever the client's old cookie points
        if handle is not None and not seed and (owner := self.owner(handle)) is not None:
            if owner.down is not None:
                await _answer(send, 503, _lost(owner, handle), owner)
                return
            replica: Replica | None = owner
        else:  # a seed, a stateless call, or a handle no replica signed (its server says why)
            replica = self.least_busy()
        if replica is None:
            down = "; ".join(f"{r.label}: {r.down}" for r in self.replicas)
            await _answer(send, 503, _error(f"no replica of {self.instance!r} is up ({down})", "no_replica"), None)
            return
        body = await self._body(receive)
        if body is None:
            problem = f"the request body is larger than the router's limit of {self.max_body_bytes} bytes"
            await _answer(send, 413, _error(problem, "body_too_large"), None)
            return
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        replica.in_flight += 1
        replica.requests += 1
        try:
            pool = replica.pool(self.timeout_s, self.max_connections)
            reply = await pool.request(scope["method"], target.decode("latin-1"), body, headers)
        except httpx.TransportError as exc:
            problem = (
                f"replica {replica.label} of {self.instance!r} at {replica.url} did not answer ({exc}); "
                "if it died, Ray will report it and the router stops sending to it"
            )
            await _answer(send, 502, _error(problem, "replica_unreachable", replica), replica)
            return
        finally:
            replica.in_flight -= 1
        raw = [
            (name, value)
            for name, value in ((k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items())
            if name.decode("latin-1") not in _HOP
        ]
        raw += [
            (b"content-length", str(len(reply.content)).encode()),
            (REPLICA_HEADER.encode(), replica.label.encode()),
            (REPLICA_URL_HEADER.encode(), replica.url.encode()),
        ]
        await send({"type": "http.response.start", "status": reply.status_code, "headers": raw})
        await send({"type": "http.response.body", "body": reply.content})

    # -- internals --------------------------------------------------------------------------------

    def _request_headers(self, scope: Scope) -> tuple[dict[str, str], str | None]:
        """The headers to pass on (repeated ones joined, as HTTP allows) and the session handle, if any."""
        headers: dict[str, str] = {}
        handle: str | None = None
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name in _HOP:
                continue
            if raw_name == _SESSION_HEADER:
                handle = value
            joiner = "; " if name == "cookie" else ", "
            headers[name] = f"{headers[name]}{joiner}{value}" if name in headers else value
        if handle is None and self.cookie_name is not None and "cookie" in headers:
            from starlette.requests import cookie_parser

            handle = cookie_parser(headers["cookie"]).get(self.cookie_name)
        return headers, handle

    async def _body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _error(problem: str, code: str, replica: Replica | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": problem, "error": code}
    if replica is not None:
        body["replica"] = replica.label
    return body


def _lost(replica: Replica, handle: str) -> dict[str, Any]:
    node = f"node {replica.node_id[:12]} at {replica.node_ip}" if replica.node_id else "its node"
    problem = (
        f"the session {handle.partition('.')[0][:32]!r} lives on replica {replica.label} ({node}, {replica.url}), "
        f"which is down: {replica.down}. Its sessions are lost. Fix: seed a new session with POST /seed_session "
        "(a collector's retry of the rollout does); it goes to a replica that is up"
    )
    return _error(problem, "replica_down", replica)


async def _answer(send: Send, status: int, body: dict[str, Any], replica: Replica | None) -> None:
    content = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    if replica is not None:
        headers.append((REPLICA_HEADER.encode(), replica.label.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
