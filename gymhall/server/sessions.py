"""Per-rollout sessions: signed handles, a bounded store with leases, and its reaper.

A handle is `<id>.<signature>`: the id is 128 random bits, the signature an HMAC-SHA256 of the
id under the server's secret (random per process unless configured). A handle that does not carry
a valid signature is refused before any lookup, so no client can reach another rollout's state by
guessing or editing ids. A session lives while it is used: each use renews its lease; the reaper
frees sessions whose lease ran out, and nothing ever recreates a freed session silently.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from gymhall.exceptions import InvalidSessionHandle, ServerBusy, SessionNotFound

__all__ = ["HandleSigner", "Session", "SessionLifecycle", "SessionStore"]

logger = logging.getLogger("gymhall.sessions")

_SIGNATURE_BYTES = 16
_SHA256_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class HandleSigner:
    """Signs session ids into handles and checks handles back into ids."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: str | bytes | None = None) -> None:
        if secret is None:
            key = secrets.token_bytes(32)
        else:
            key = secret.encode() if isinstance(secret, str) else secret
            if len(key) < 16:
                raise ValueError("session_secret must be at least 16 bytes; use a long random string")
        # HMAC-SHA256 (RFC 2104) keyed once: each signature copies the hash states of the two padded keys,
        # which is what `hmac` does too, without its Python object around every copy (half the cost).
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def _signature(self, session_id: str) -> str:
        inner = self._inner.copy()
        inner.update(session_id.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return base64.urlsafe_b64encode(outer.digest()[:_SIGNATURE_BYTES]).rstrip(b"=").decode()

    def sign(self, session_id: str) -> str:
        """The handle for `session_id`."""
        return f"{session_id}.{self._signature(session_id)}"

    def unsign(self, handle: str) -> str:
        """The session id inside `handle`; raises `InvalidSessionHandle` if it was not signed here."""
        session_id, dot, signature = handle.partition(".")
        if not dot or not session_id or len(handle) > 256 or not handle.isascii():
            raise InvalidSessionHandle(
                "The session handle is malformed. Send the handle returned by POST /seed_session unchanged."
            )
        if not hmac.compare_digest(signature, self._signature(session_id)):
            raise InvalidSessionHandle(
                f"The session handle for session {session_id[:32]!r} has an invalid signature: it was "
                "tampered with or issued by another server. Start a session with POST /seed_session."
            )
        return session_id


class SessionLifecycle(Enum):
    """Where a session is in its life."""

    ACTIVE = "active"  # seeded and usable
    CLOSED = "closed"  # closed by the client or expired by the reaper; never usable again


class Session:
    """One rollout's session: its id, its environment state and the lock that serializes its tool calls."""

    __slots__ = ("_lock", "expires_at", "id", "lifecycle", "state")

    def __init__(self, session_id: str, state: Any, expires_at: float) -> None:
        self.id = session_id
        self.state = state
        self.expires_at = expires_at
        self.lifecycle = SessionLifecycle.ACTIVE
        self._lock: asyncio.Lock | None = None

    @property
    def lock(self) -> asyncio.Lock:
        """The lock held while a tool runs, so one session's tool calls never interleave."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, lifecycle={self.lifecycle.value})"


class SessionStore:
    """A bounded in-memory store of sessions with lease expiry.

    Sessions are kept in least-recently-used order, so the reaper and the full-store check only
    ever look at the sessions that actually expired.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = 600.0,
        max_sessions: int = 20_000,
        on_close: Callable[[Session], Awaitable[None] | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("session_ttl_seconds must be positive")
        if max_sessions <= 0:
            raise ValueError("max_sessions must be positive")
        self.ttl_seconds = ttl_seconds
        self.max_sessions = max_sessions
        self._on_close = on_close
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._pending_close: list[Session] = []

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def create(self, state: Any = None) -> Session:
        """Start a session; raises `ServerBusy` when the store is full of live sessions."""
        now = self._clock()
        if len(self._sessions) >= self.max_sessions and self.reap(now) == 0:
            retry = max(1, int(self._next_expiry() - now) + 1)
            raise ServerBusy(
                f"The server holds its maximum of {self.max_sessions} live sessions. Close finished "
                "sessions with POST /close_session, retry later, or raise max_sessions in the config.",
                headers={"Retry-After": str(retry)},
            )
        session_id = secrets.token_urlsafe(16)
        session = Session(session_id, state, now + self.ttl_seconds)
        self._sessions[session_id] = session
        return session

    def get(self, session_id: str) -> Session:
        """The live session `session_id`, with its lease renewed; raises `SessionNotFound` otherwise."""
        session = self._sessions.get(session_id)
        now = self._clock()
        if session is None or session.expires_at <= now:
            if session is not None:
                self._drop(session)
            raise SessionNotFound(
                f"Session {session_id!r} is unknown, closed or expired (sessions expire after "
                f"{self.ttl_seconds:g} s without use). Start a new one with POST /seed_session."
            )
        session.expires_at = now + self.ttl_seconds
        self._sessions.move_to_end(session_id)
        return session

    def close(self, session_id: str) -> bool:
        """Close a session; returns whether it was live. Closing twice is not an error."""
        session = self._sessions.get(session_id)
        if session is None:
            return False
        self._drop(session)
        return True

    def reap(self, now: float | None = None) -> int:
        """Free every session whose lease has run out; returns how many were freed."""
        now = self._clock() if now is None else now
        freed = 0
        while self._sessions:
            session = next(iter(self._sessions.values()))
            if session.expires_at > now:
                break
            self._drop(session)
            freed += 1
        return freed

    def _next_expiry(self) -> float:
        return next(iter(self._sessions.values())).expires_at if self._sessions else self._clock()

    def _drop(self, session: Session) -> None:
        self._sessions.pop(session.id, None)
        session.lifecycle = SessionLifecycle.CLOSED
        if self._on_close is not None:
            self._pending_close.append(session)

    async def flush_closed(self) -> None:
        """Run the `on_close` hook for sessions closed since the last flush; errors are logged."""
        pending, self._pending_close = self._pending_close, []
        for session in pending:
            assert self._on_close is not None
            try:
                result = self._on_close(session)
                if result is not None:
                    await result
            except Exception:
                logger.exception("on_close hook failed for session %s", session.id)

    async def run_reaper(self, interval_seconds: float) -> None:
        """Reap expired sessions every `interval_seconds` until cancelled."""
        while True:
            await asyncio.sleep(interval_seconds)
            freed = self.reap()
            if freed:
                logger.debug("reaped %d expired sessions", freed)
            await self.flush_closed()
