"""What every backend behind an OpenAI-compatible HTTP API shares: SDK clients per replica, stickiness, errors.

The OpenAI SDK sends each call and retries it (exponential backoff with jitter on 429, 5xx and
connection errors, honouring Retry-After, at most `max_retries` times). With several base URLs, a
rollout stays on one replica, chosen by a stable hash of its session key.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
import openai
import orjson
from pydantic import BaseModel

from gymhall._exceptions import ModelError
from gymhall._models.base import Model, ModelRequest, remaining

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["DEFAULT_BASE_URL", "OpenAICompatibleModel", "model_error", "redact_url"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_API_KEY = "EMPTY"  # local servers (vLLM, SGLang, the fake) accept any key; the SDK insists on one
JSON_HEADERS = {"Content-Type": "application/json"}
_MAX_ERROR_TEXT = 500


class OpenAICompatibleModel(Model):
    """Base of the OpenAI-compatible backends: one SDK client per base URL, rollouts kept on one replica."""

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
        self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or LOCAL_API_KEY
        self._clients: list[AsyncOpenAI] = [self._client(url) for url in self.base_urls]
        self._round_robin = itertools.count()

    def _client(self, base_url: str) -> AsyncOpenAI:
        # The SDK's aiohttp transport: its httpx pool costs milliseconds of CPU per call at high concurrency.
        # aiohttp refuses credentials in the URL beside an Authorization header; such URLs keep httpx2.
        has_credentials = urlsplit(base_url).username is not None
        http_client = openai.DefaultAsyncHttpx2Client() if has_credentials else openai.DefaultAioHttpClient()
        return openai.AsyncOpenAI(
            base_url=base_url,
            api_key=self._api_key,
            max_retries=self.max_retries,
            timeout=self.timeout_s,
            http_client=http_client,
        )

    def _pick(self, session_key: str) -> int:
        if len(self._clients) == 1:
            return 0
        if not session_key:  # no rollout to keep together: spread the calls
            return next(self._round_robin) % len(self._clients)
        return zlib.crc32(session_key.encode()) % len(self._clients)

    def body(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body sent for Responses `params`."""
        raise NotImplementedError

    async def _post(self, request: ModelRequest, path: str) -> httpx2.Response:
        """POST the request's body to its replica's `path`; SDK errors and the deadline become `ModelError`."""
        index = self._pick(request.session_key)
        client, url = self._clients[index], self.base_urls[index]
        try:
            budget = remaining(request.deadline, self.timeout_s)
            # The SDK's timeout is per attempt; the rollout's deadline also bounds the retries.
            async with asyncio.timeout(budget if request.deadline is not None else None):
                await self._ensure_name(client)
                try:
                    content = orjson.dumps(self.body(request.params), default=dump_model)
                except (ValueError, TypeError) as exc:
                    raise ModelError(f"cannot send this request to {redact_url(url)}{path}: {exc}") from None
                return await client.post(
                    path, cast_to=httpx2.Response, content=content, options={"headers": JSON_HEADERS, "timeout": budget}
                )
        except (openai.APIError, TimeoutError) as exc:
            error = self._error(exc, url)
            error.upstream = exc
            raise error from None

    async def _ensure_name(self, client: AsyncOpenAI) -> None:
        if not self.name:
            self.name = await _first_model_id(client)

    def _error(self, exc: BaseException, url: str) -> ModelError:
        return model_error(exc, url, self._api_key, self.max_retries)

    def _redact(self, text: str) -> str:
        return _redact(text, self._api_key)

    async def aclose(self) -> None:
        """Close every replica's connections."""
        await asyncio.gather(*(client.close() for client in self._clients))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, base_url={[redact_url(u) for u in self.base_urls]!r})"


async def _first_model_id(client: AsyncOpenAI) -> str:
    page = await client.models.list()
    if not page.data:
        raise ModelError(f"{redact_url(str(client.base_url))} lists no models; name one, e.g. 'URL#model-name'.")
    return page.data[0].id


def dump_model(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)  # as the SDK itself sends models
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def model_error(exc: BaseException, url: str, api_key: str | None, max_retries: int) -> ModelError:
    """A `ModelError` for an SDK error or timeout: names the URL, the status and the server's message."""
    where = redact_url(url)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in (408, 409, 429) or status >= 500
        tried = f" after {max_retries} retries" if retryable and max_retries else ""
        message = f"{where} answered HTTP {status}{tried}: {_server_message(exc)}"
        return ModelError(_redact(message, api_key), retryable=retryable, status_code=status)
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        message = f"{where} did not answer in time (the call's timeout or the rollout's deadline)"
        return ModelError(message, retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        message = f"cannot reach {where} after {max_retries} retries: {type(cause).__name__}: {cause}"
        return ModelError(_redact(message, api_key), retryable=True)
    return ModelError(_redact(f"{where}: {type(exc).__name__}: {exc}", api_key))


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        message = body.get("message") or body.get("detail")
        if message:
            return str(message)[:_MAX_ERROR_TEXT]
    try:
        text = exc.response.text
    except Exception:  # a streamed body that was never read
        text = ""
    return (text or exc.message)[:_MAX_ERROR_TEXT]


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
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))
