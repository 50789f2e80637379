"""How long a server waits for its clients, and how many it holds at once.

Every server gymhall starts (resources, model and agent servers) takes these settings, as keys of its
config block (``request_timeout_s: 30``) or overrides. They bound what idle or slow clients can hold:
a connection that has not sent a whole request (headers and body) `request_timeout_s` after it opened,
or after its previous answer, is closed; an idle keep-alive connection is closed after
`keep_alive_timeout_s`; past `max_connections` open connections, a new one is answered 503 and closed.
"""

from __future__ import annotations

import resource

from pydantic import BaseModel, Field

__all__ = ["ConnectionSettings", "default_max_connections"]

_MAX_DEFAULT_CONNECTIONS = 16_384


def default_max_connections() -> int:
    """The default cap: the process's open-file limit less an eighth of it (at least 64), at most 16,384.

    What is left is for everything else the server opens (its own files, calls to judges and models).
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return _MAX_DEFAULT_CONNECTIONS
    return max(16, min(_MAX_DEFAULT_CONNECTIONS, soft - max(64, soft // 8)))


class ConnectionSettings(BaseModel):
    """Timeouts for incomplete requests and idle connections, and a cap on open connections."""

    request_timeout_s: float = Field(default=60.0, gt=0)
    """Seconds a connection has to send a whole request (headers and body), from when it opened or got its
    last answer; then it is closed. Slow or half-open clients hold a connection no longer than this."""

    keep_alive_timeout_s: int = Field(default=30, ge=1)
    """Seconds an idle keep-alive connection (an answer sent, nothing new received) stays open."""

    max_connections: int | None = Field(default=None, gt=0)
    """Open connections at most; a new one beyond it is answered 503 (Retry-After: 1) and closed.
    None: `default_max_connections()`, from the process's open-file limit."""

    backlog: int = Field(default=2048, gt=0)
    """Connections the kernel queues before the server accepts them (listen(2)'s backlog)."""

    def connection_cap(self) -> int:
        """`max_connections`, or the default derived from the open-file limit."""
        return self.max_connections if self.max_connections is not None else default_max_connections()
