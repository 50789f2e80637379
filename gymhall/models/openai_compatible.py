"""What every backend behind an OpenAI-compatible HTTP API shares: a pool per replica, retries, stickiness, errors.

Each call is one JSON POST on gymhall's HTTP pool (`gymhall.client.http`), built here rather than by the
OpenAI SDK's client, whose request machinery cost more CPU than the rest of a rollout. The SDK's
retry policy is kept: at most `max_retries` retries on 408, 409, 429, 5xx, timeouts and connection
errors, after `retry-after-ms`/`Retry-After` when the server sends one (up to two minutes), else
after an exponential backoff (0.5 s doubling to at most 8 s, less up to 25 % jitter); a server's
`x-should-retry` header overrides the status. A failed status is kept as a `StatusError` (status,
the body's `error` object, message) on the `ModelError`'s `upstream`; the OpenAI SDK is not imported.
With several base URLs, a rollout stays on one replica, chosen by a stable hash of its session key.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import itertools
import math
import os
import random
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
import orjson
from pydantic import BaseModel

from gymhall import tracing
from gymhall.client.http import HttpPool, RawReply
from gymhall.exceptions import ConfigError, ModelError
from gymhall.models.base import Model, ModelRequest, remaining
from gymhall.wire.contract import retryable_status

__all__ = ["DEFAULT_BASE_URL", "Answer", "OpenAICompatibleModel", "StatusError", "model_error", "redact_url"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_API_KEY = "EMPTY"  # local servers (vLLM, SGLang, the fake) accept any key; OpenAI clients always send one
_MAX_ERROR_TEXT = 500
_MAX_CONNECTIONS = 1000  # per replica, as the OpenAI SDK's default pool
_REQUEST_HEADERS = {"content-type": "application/json", "accept": "application/json"}
# The OpenAI SDK's retry policy (openai/_constants.py, openai/_base_client.py).
_INITIAL_RETRY_DELAY_S = 0.5
_MAX_RETRY_DELAY_S = 8.0
_MAX_RETRY_AFTER_S = 120.0


class StatusError(Exception):
    """A backend's failed status as it answered: `status_code`, `body` (the JSON body's `error` object, else the
    body, else its text), `message` ("Error code: 429 - ..."), the raw `reply` and the `url` asked (no
    credentials). What the OpenAI SDK's `APIStatusError` carries, without importing the SDK."""

    def __init__(self, message: str, *, status_code: int, body: Any, reply: RawReply, url: str) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
        self.reply = reply
        self.url = url


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful (2xx) reply: its status, raw body, and the URL it came from (without credentials)."""

    status_code: int
    content: bytes
    url: str


class _Replica:
    """One base URL: its pool (credentials moved from the URL into the Authorization header)."""

    __slots__ = ("headers", "pool", "url")

    def __init__(self, base_url: str, api_key: str) -> None:
        parts = urlsplit(base_url)
        headers = {"authorization": f"Bearer {api_key}", "user-agent": _user_agent()}
        if parts.username is not None or parts.password is not None:
            # As httpx (the SDK's default transport) does: credentials in the URL are sent as Basic auth.
            pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        for variable, header in (("OPENAI_ORG_ID", "openai-organization"), ("OPENAI_PROJECT_ID", "openai-project")):
            value = os.environ.get(variable)  # read from the environment, as the SDK does
            if value:
                headers[header] = value
        self.url = redact_url(base_url)
        self.headers = headers
        self.pool = HttpPool(self.url, timeout_s=None, max_connections=_MAX_CONNECTIONS, headers=headers)


class OpenAICompatibleModel(Model):
    """Base of the OpenAI-compatible backends: one pool per base URL, rollouts kept on one replica."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | Sequence[str] = DEFAULT_BASE_URL,
        api_key: str | None = None,
        sampling: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 3,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError(f"{type(self).__name__} needs at least one base_url, e.g. 'http://localhost:8000/v1'.")
        self.name = model
        self.base_urls = [url.rstrip("/") for url in urls]
        self.sampling = dict(sampling or {})
        self.extra_body = dict(extra_body or {})
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._has_key = bool(api_key or os.environ.get("OPENAI_API_KEY"))
        self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or LOCAL_API_KEY
        self._replicas = [_Replica(url, self._api_key) for url in self.base_urls]
        self._round_robin = itertools.count()
        self._name_asked = False  # with no model name, `GET /models` is asked once (see `_first_model_id`)

    def _pick(self, session_key: str) -> int:
        if len(self._replicas) == 1:
            return 0
        if not session_key:  # no rollout to keep together: spread the calls
            return next(self._round_robin) % len(self._replicas)
        return zlib.crc32(session_key.encode()) % len(self._replicas)

    def body(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body sent for Responses `params`."""
        raise NotImplementedError

    async def _post(self, request: ModelRequest, path: str) -> Answer:
        """POST the request's body to its replica's `path`; failures and the deadline become `ModelError`."""
        replica = self._replicas[self._pick(request.session_key)]
        try:
            budget = remaining(request.deadline, self.timeout_s)
            # Each attempt has its own timeout; the rollout's deadline also bounds the retries and their waits.
            async with asyncio.timeout(budget if request.deadline is not None else None):
                await self._ensure_name(replica, request.deadline)
                try:
                    content = orjson.dumps(self.body(request.params), default=dump_model)
                except (ValueError, TypeError) as exc:
                    raise ModelError(f"cannot send this request to {replica.url}{path}: {exc}") from None
                reply = await self._send(replica, "POST", path, content, request.deadline)
        except (StatusError, httpx.TransportError, TimeoutError) as exc:
            error = self._error(exc, replica.url)
            error.upstream = exc
            raise error from None
        return Answer(reply.status_code, reply.content, replica.url + path)

    async def preflight(self, *, key_source: str = "OPENAI_API_KEY", timeout_s: float = 5.0) -> None:
        """Check that OpenAI gets a key and that every base URL answers: one `GET /models` each, no retries.

        Any answer but 401/403 shows the server is up (NeMo Gym's model servers answer 404 there);
        401/403 means the key was refused. `ConfigError` names the URL and the fix.
        """
        if not self._has_key and any(urlsplit(url).hostname == "api.openai.com" for url in self.base_urls):
            raise ConfigError(f"no API key for {DEFAULT_BASE_URL} (model {self.name!r}).\n  Fix: set {key_source}")
        problems = await asyncio.gather(*(self._probe(replica, key_source, timeout_s) for replica in self._replicas))
        found = [problem for problem in problems if problem]
        if found:
            raise ConfigError(found[0])

    async def _probe(self, replica: _Replica, key_source: str, timeout_s: float) -> str | None:
        try:
            async with httpx.AsyncClient(timeout=timeout_s, headers=replica.headers) as client:
                reply = await client.get(replica.url + "/models")
        except httpx.TimeoutException:
            problem = f"{replica.url} did not answer within {timeout_s:g} s: is the server running?"
            return f"{problem}\n  Fix: start the model server, or correct its URL"
        except httpx.TransportError as exc:
            problem = f"cannot reach {replica.url} ({type(exc).__name__}: {exc}): is the server running?"
            return f"{problem}\n  Fix: start the model server, or correct its URL"
        if reply.status_code not in (401, 403):
            return None
        refused = "refused the API key" if self._has_key else "needs an API key and none was set"
        try:
            body = orjson.loads(reply.content)
        except orjson.JSONDecodeError:
            body = None
        error = body.get("error", body) if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        detail = self._redact(str(message or reply.text.strip()))[:_MAX_ERROR_TEXT]
        return f"{replica.url} {refused} (HTTP {reply.status_code}: {detail}).\n  Fix: set {key_source} to a valid key"

    async def _send(
        self, replica: _Replica, method: str, path: str, content: bytes, deadline: float | None
    ) -> RawReply:
        """One call with the SDK's retry policy; raises the last failure once retries are spent."""
        retries = 0
        while True:
            reply: RawReply | None = None
            left = remaining(deadline, self.timeout_s)
            # When the rollout's deadline comes first, `_post`'s timeout already ends the attempt then (and no
            # retry could follow): a second timer would cost every call for nothing.
            attempt_timeout = None if deadline is not None and left < self.timeout_s else left
            if tracing.tracer is None:
                call = replica.pool.request(method, path, content, _REQUEST_HEADERS)
            else:  # a client span per attempt, its context in the headers
                call = tracing.model_attempt(
                    replica.pool.request, method, path, content, _REQUEST_HEADERS, replica.url, self.name
                )
            try:
                if attempt_timeout is None:
                    reply = await call
                else:
                    async with asyncio.timeout(attempt_timeout):
                        reply = await call
            except (TimeoutError, httpx.TransportError):
                if retries >= self.max_retries:
                    raise
            else:
                if reply.is_success:
                    return reply
                if retries >= self.max_retries or not _should_retry(reply):
                    raise _status_error(reply, method, replica.url + path)
            await asyncio.sleep(_retry_delay(reply, retries))
            retries += 1

    async def _ensure_name(self, replica: _Replica, deadline: float | None) -> None:
        if not self.name and not self._name_asked:
            self.name = await self._first_model_id(replica, deadline)
            self._name_asked = True

    async def _first_model_id(self, replica: _Replica, deadline: float | None) -> str:
        """The first model `GET /models` lists, else "": requests then name no model and the server picks its own.

        The route is optional: NeMo Gym's model servers do not serve it (404), and need no model name.
        A connection failure or timeout is raised (the server is down; the call would fail the same way).
        """
        try:
            reply = await self._send(replica, "GET", "/models", b"", deadline)
        except StatusError:
            return ""
        try:
            page = orjson.loads(reply.content)
        except orjson.JSONDecodeError:
            page = None
        data = page.get("data") if isinstance(page, dict) else None
        first = data[0] if isinstance(data, list) and data else None
        model_id = first.get("id") if isinstance(first, dict) else None
        return model_id if isinstance(model_id, str) else ""

    def _error(self, exc: BaseException, url: str) -> ModelError:
        return model_error(exc, url, self._api_key, self.max_retries)

    def _redact(self, text: str) -> str:
        return _redact(text, self._api_key)

    async def aclose(self) -> None:
        """Close every replica's connections."""
        await asyncio.gather(*(replica.pool.aclose() for replica in self._replicas))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, base_url={[redact_url(u) for u in self.base_urls]!r})"


def _user_agent() -> str:
    from gymhall import __version__

    return f"gymhall/{__version__}"


def _retry_after_s(reply: RawReply) -> float | None:
    """The server's requested wait (`retry-after-ms`, else `Retry-After` in seconds or as a date), or None."""
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = reply.headers.get(header)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if math.isinf(delay) and value.strip().lower() not in ("inf", "+inf", "infinity", "+infinity"):
            return _MAX_RETRY_AFTER_S + 1  # an overflowing number: an excessive delay, not a shorter one
        return delay / divisor
    try:
        date = email.utils.parsedate_tz(reply.headers.get("retry-after"))
        return None if date is None else float(email.utils.mktime_tz(date) - time.time())
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _should_retry(reply: RawReply) -> bool:
    retry_after = _retry_after_s(reply)
    if retry_after is not None and math.isfinite(retry_after) and retry_after > _MAX_RETRY_AFTER_S:
        return False
    should_retry = reply.headers.get("x-should-retry")
    if should_retry in ("true", "false"):  # the server says; obey
        return should_retry == "true"
    return reply.status_code in (408, 409, 429) or reply.status_code >= 500


def _retry_delay(reply: RawReply | None, retries: int) -> float:
    retry_after = _retry_after_s(reply) if reply is not None else None
    if retry_after is not None and math.isfinite(retry_after) and 0 < retry_after <= _MAX_RETRY_AFTER_S:
        return retry_after
    delay = min(_INITIAL_RETRY_DELAY_S * 2.0 ** min(retries, 1000), _MAX_RETRY_DELAY_S)
    return delay * (1 - 0.25 * random.random())


def _status_error(reply: RawReply, method: str, url: str) -> StatusError:
    """The error for a failed status, as the OpenAI SDK's client words it (the body's `error` object as `body`)."""
    message = f"Error code: {reply.status_code}"
    body: Any = reply.text.strip()
    try:
        body = orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    data = body.get("error", body) if isinstance(body, Mapping) else body
    if isinstance(data, Mapping) and isinstance(data.get("message"), str) and data["message"]:
        message += f" - {data['message']}"
    return StatusError(message, status_code=reply.status_code, body=data, reply=reply, url=redact_url(url))


def dump_model(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)  # as the SDK itself sends models
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def model_error(exc: BaseException, url: str, api_key: str | None, max_retries: int) -> ModelError:
    """A `ModelError` for a failed status, a timeout or a connection failure: names the URL, status and message."""
    where = redact_url(url)
    if isinstance(exc, StatusError):
        status = exc.status_code
        retryable = retryable_status(status)
        tried = f" after {max_retries} retries" if retryable and max_retries else ""
        message = f"{where} answered HTTP {status}{tried}: {_server_message(exc)}"
        return ModelError(_redact(message, api_key), retryable=retryable, status_code=status)
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        message = f"{where} did not answer in time (the call's timeout or the rollout's deadline)"
        return ModelError(message, retryable=True)
    if isinstance(exc, httpx.TransportError):
        message = f"cannot reach {where} after {max_retries} retries: {type(exc).__name__}: {exc}"
        return ModelError(_redact(message, api_key), retryable=True)
    return ModelError(_redact(f"{where}: {type(exc).__name__}: {exc}", api_key))


def _server_message(exc: StatusError) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        message = body.get("message") or body.get("detail")
        if message:
            return str(message)[:_MAX_ERROR_TEXT]
    return (exc.reply.text or exc.message)[:_MAX_ERROR_TEXT]


def _redact(text: str, secret: str | None) -> str:
    """`text` without `secret` (some servers quote the key they refused)."""
    if secret and len(secret) >= 4 and secret != LOCAL_API_KEY:
        text = text.replace(secret, "[redacted]")
    return text


def redact_url(url: str) -> str:
    """`url` without user:password, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))  # host[:port] as written
