"""Every error gymhall raises, under one root.

    GymhallError
    ├── ConfigError            a config file, key or override is invalid
    ├── DatasetError           a dataset or rollouts file cannot be used
    ├── PortError              `gymhall port` / `gymhall init`: a domain module or class cannot be ported
    ├── RequestError           a request to a gymhall server was refused (carries an HTTP status)
    │   ├── BodyTooLarge           413: the body is over the server's limit
    │   ├── InvalidBody            422: the body is not valid JSON or fails validation
    │   ├── UnsupportedMediaType   415: the body is sent with a Content-Type that is not JSON
    │   ├── SessionError           a session handle problem
    │   │   ├── SessionRequired        400: the route needs a session and none was sent
    │   │   ├── InvalidSessionHandle   403: the handle is forged, tampered with or malformed
    │   │   └── SessionNotFound        404: the session is unknown, closed or expired
    │   ├── ServerBusy             503: the session store is full (sent with Retry-After)
    │   ├── ForkUnsupported        501: `POST /fork_session` on an environment that cannot copy its state
    │   └── ToolError              400: a tool refused its input; the message is for the model to read
    │       └── AnswerTooLarge         400: a tool's answer is over the server's `max_answer_bytes`
    ├── ServerError            a gymhall server answered with an error (raised by clients)
    ├── ServerUnreachable      a client found nothing listening at the server's URL (raised by clients)
    ├── ModelError             a model backend failed (after its retries) or answered unusably
    ├── JudgeError             an LLM judge gave no verdict (call failed, timed out, or no label in its answer)
    └── ServerStartError       `gymhall serve`: a server exited or never became healthy

A `RequestError` raised inside a tool or `verify` becomes a JSON error answer with its status;
any other exception becomes a 500 JSON answer and is logged with its traceback. An environment answers
a `JudgeError` with NeMo Gym's judge-failure contract (`gymhall.grading.judge.judge_failed`): a 200 whose
`_ng_failure_class` is "judge_failed", which collectors record as a failure rather than a reward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class GymhallError(Exception):
    """Root of every error gymhall raises."""


class ConfigError(GymhallError, ValueError):
    """Raised when a config file, key or override is invalid; the message names the file, the key and the fix."""


class DatasetError(GymhallError, ValueError):
    """Raised when a dataset or rollouts file cannot be used; the message names the file, the line and the fix."""


class PortError(GymhallError, ValueError):
    """Raised when a domain module or class cannot be ported; the message names the thing, the problem and the fix."""


def port_error(thing: str, problem: str, fix: str) -> PortError:
    """A `PortError` worded as `thing: problem.` followed by a `Fix:` line."""
    return PortError(f"{thing}: {problem}.\n  Fix: {fix}")


class RequestError(GymhallError):
    """Raised to refuse a request; the server answers with `status_code` and a JSON body naming the problem."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.detail = message if detail is None else detail

    def to_json(self) -> dict[str, Any]:
        """The JSON body of the error answer (`detail` keeps FastAPI's and NeMo Gym's key)."""
        body: dict[str, Any] = {"detail": self.detail, "error": self.code}
        if self.detail is not self.message:
            body["message"] = self.message
        return body


class BodyTooLarge(RequestError):
    """Raised when a request body is larger than the server's `max_body_bytes`."""

    status_code = 413
    code = "body_too_large"


class InvalidBody(RequestError):
    """Raised when a request body is not valid JSON or does not validate; `detail` lists the fields."""

    status_code = 422
    code = "validation_error"


class UnsupportedMediaType(RequestError):
    """Raised when a JSON body comes with a Content-Type that is not JSON (`text/plain`, a form, ...)."""

    status_code = 415
    code = "unsupported_media_type"


class SessionError(RequestError):
    """Raised for a problem with a session handle."""

    code = "session_error"


class SessionRequired(SessionError):
    """Raised when a route needs a session and the request carried no handle."""

    status_code = 400
    code = "session_required"


class InvalidSessionHandle(SessionError):
    """Raised when a session handle is forged, tampered with or malformed."""

    status_code = 403
    code = "invalid_session_handle"


class SessionNotFound(SessionError):
    """Raised when a session is unknown, closed or expired; state is never silently recreated."""

    status_code = 404
    code = "session_not_found"


class ServerBusy(RequestError):
    """Raised when the session store is full; answered as 503 with Retry-After."""

    status_code = 503
    code = "server_busy"


class ForkUnsupported(RequestError):
    """Raised by `POST /fork_session` on a server whose environment cannot copy a session's state."""

    status_code = 501
    code = "fork_unsupported"


class ToolError(RequestError):
    """Raise in a tool to refuse the model's input; the message is returned for the model to read."""

    status_code = 400
    code = "tool_error"


class AnswerTooLarge(ToolError):
    """Raised when a tool's answer is over the server's `max_answer_bytes`; the model reads the message."""

    code = "answer_too_large"


class ServerError(GymhallError):
    """Raised by clients when a gymhall server answers with an error status."""

    def __init__(self, message: str, *, status_code: int, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class ServerUnreachable(GymhallError):
    """Raised by clients when nothing answers at the server's URL (connection refused, unknown host)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"Cannot reach the resources server at {url}: {reason}.\n"
            "  Fix: is the server running? Start it first (`gymhall serve ENV`, `gymhall serve CONFIG.yaml` "
            "or `python app.py --port PORT`) and use the URL it prints when ready."
        )
        self.url = url
        self.reason = reason


class ServerStartError(GymhallError):
    """Raised when a server exits, or does not answer `GET /` with 200, before all servers are ready."""

    def __init__(self, problem: str, fix: str, *, server: str, output: Sequence[str] = ()) -> None:
        super().__init__(f"{problem}\n  Fix: {fix}")
        self.problem = problem
        self.fix = fix
        self.server = server
        self.output = list(output)


class ModelError(GymhallError):
    """Raised when a model backend fails after its retries, or answers with something unusable."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status_code: int | None = None,
        upstream: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code
        # The client library's own error, kept as data rather than chained: its text may quote the API key.
        self.upstream = upstream


class JudgeError(GymhallError):
    """Raised when an LLM judge gives no verdict: its call failed or timed out, or its answer had no label."""
