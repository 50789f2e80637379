"""The NeMo Gym wire contract's names and rules, written once: servers, clients and agents import them.

Sessions: a resources server hands out a signed session handle at `POST /seed_session` in three
places (a cookie set again on every answer, the `x-gymhall-session` header, and the body), and takes
it back from the header or the cookie. Judge failures: a verify whose judge failed answers 200 with
NeMo Gym's `_ng_failure_class` fields, which collectors record as a failure, never as a reward.
Retryability: which answers a retry may help, decided here for every caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "FAILURE_CLASS_KEY",
    "JUDGE_ERROR_KEY",
    "NEMO_GYM_SESSION_COOKIE",
    "RESERVED_ROUTES",
    "RETRYABLE_STATUS",
    "SESSION_COOKIE_ATTRIBUTES",
    "SESSION_COOKIE_PREFIX",
    "SESSION_HEADER",
    "SESSION_ID_KEY",
    "TOOL_NAME",
    "failure_class",
    "judge_failed",
    "judge_failure",
    "retryable_status",
    "session_cookie_name",
]

SESSION_ID_KEY = "session_id"
"""Key of the session id in `request.session`, as in NeMo Gym."""

SESSION_HEADER = "x-gymhall-session"
"""Request and response header carrying the signed session handle, for clients that skip cookies."""

SESSION_COOKIE_PREFIX = "gymhall-session"
"""gymhall's session cookies are named `gymhall-session-<server name>`, one per server a rollout uses."""

SESSION_COOKIE_ATTRIBUTES = "Path=/; HttpOnly; SameSite=Lax"
"""The attributes of every session cookie a gymhall server sets: no expiry, so clients need not parse them."""

NEMO_GYM_SESSION_COOKIE = "session"
"""NeMo Gym's own session cookie (Starlette's SessionMiddleware), which its agents send back."""

TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""OpenAI's rule for function names (`TOOL_NAME.fullmatch(name)`): anything else cannot be a tool or a URL path."""

RESERVED_ROUTES = frozenset({"seed_session", "verify", "close_session", "aggregate_metrics", "fork_session"})
"""Resources-server routes a model must never reach by naming them as a tool."""

FAILURE_CLASS_KEY = "_ng_failure_class"
"""Set on a verify answer or an agent's `/run` answer that is a failure, not a reward."""

JUDGE_ERROR_KEY = "_ng_failure_judge_error"
"""The judge's error, beside `FAILURE_CLASS_KEY: "judge_failed"`."""

_JUDGE_FAILED = "judge_failed"

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 502, 503, 504})
"""Statuses a retry may help: timeouts, conflicts, rate limits, overloaded or restarting upstreams."""

_INTERNAL_ERROR = "internal_error"


def session_cookie_name(server_name: str) -> str:
    """The session cookie of the server named `server_name` (characters a cookie name cannot hold become `_`)."""
    return f"{SESSION_COOKIE_PREFIX}-" + (re.sub(r"[^A-Za-z0-9_-]", "_", server_name) or "server")


def judge_failed(error: str) -> dict[str, Any]:
    """The verify fields of a judge that failed: NeMo Gym's contract (0.4's `_ng_failure_class`, 0.7's
    `mask_sample`/`failure_kind`/`failure_reason`), which collectors record as a failure."""
    return {
        "reward": 0.0,
        "mask_sample": True,
        "failure_kind": _JUDGE_FAILED,
        "failure_reason": error[:2000],
        FAILURE_CLASS_KEY: _JUDGE_FAILED,
        JUDGE_ERROR_KEY: error,
    }


def judge_failure(verify_response: Mapping[str, Any]) -> str | None:
    """The judge's error when `verify_response` says the judge failed, else None."""
    if verify_response.get(FAILURE_CLASS_KEY) != _JUDGE_FAILED:
        return None
    return str(verify_response.get(JUDGE_ERROR_KEY, "the judge failed"))


def failure_class(stage: str) -> str:
    """NeMo Gym's `_ng_failure_class` of a rollout that failed at `stage`."""
    return f"{stage}_failed"


def retryable_status(status_code: int, body: Any = None) -> bool:
    """Whether retrying a request answered `status_code` (with JSON `body`) may help.

    Overload and gateway errors may pass; a 500 may be a crashed worker, except gymhall's own
    `internal_error`, which is an exception in the environment's code and fails the same way again.
    """
    if status_code == 500:
        return not (isinstance(body, Mapping) and body.get("error") == _INTERNAL_ERROR)
    return status_code in RETRYABLE_STATUS
