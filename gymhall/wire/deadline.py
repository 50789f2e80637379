"""One deadline, end to end: the rollout's remaining budget travels with every call the agent makes.

The agent sends `x-gymhall-deadline-s: <seconds>` on `/seed_session`, every tool call, `/verify` and
`/fork_session`: the seconds left of the rollout's budget when the request was sent (relative, so the
two machines' clocks need not agree; the time on the wire is counted against the environment).
A gymhall server reads it for the request it serves, and `time_left()` tells code running in that
request how long it has: a judge called inside `verify` or a sandbox run gives up when the rollout
would, instead of after its own fixed timeout (NeMo Gym #3351: a 300 s judge deadline shorter than
the generation it judges). Without the header (curl, NeMo Gym's agent) `time_left()` is None and
the server's own limits apply.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Iterator

__all__ = ["DEADLINE_HEADER", "deadline_header_value", "parse_deadline", "rollout_deadline", "time_left"]

DEADLINE_HEADER = "x-gymhall-deadline-s"
"""Request header: the seconds left of the rollout's budget when the request was sent."""

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("gymhall_deadline", default=None)


def time_left() -> float | None:
    """Seconds left of the current request's rollout budget (never negative), or None without one."""
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def deadline_header_value(deadline: float) -> str:
    """The header value for a `time.monotonic()` deadline: the seconds left now, to the millisecond."""
    return f"{max(0.0, deadline - time.monotonic()):.3f}"


def parse_deadline(value: bytes | str | None) -> float | None:
    """The `time.monotonic()` deadline a header value gives, or None when it is absent or not a finite number."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return time.monotonic() + seconds if math.isfinite(seconds) and seconds >= 0 else None


@contextlib.contextmanager
def rollout_deadline(deadline: float | None) -> Iterator[None]:
    """Within the block, `time_left()` counts down to `deadline` (a `time.monotonic()` time; None: no budget)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)
