"""A model behind Anthropic's Messages API: Claude, or any server speaking that protocol.

    model = AnthropicMessagesModel("claude-sonnet-4-5", sampling={"max_output_tokens": 1024})
    response = await model.respond(ModelRequest(params={"input": "hi"}, session_key="rollout-7"))

Each Responses request is converted to `POST {base_url}/messages` and the answer back to a gymhall
`Response` (`gymhall.wire.messages_conversion`). The key travels in `x-api-key` (never in
`Authorization`, never in a message or log), the API version in `anthropic-version`. Calls share the
OpenAI-compatible backends' machinery (`gymhall.models.openai_compatible`): a pool per base URL, a
rollout kept on one replica, the rollout's deadline, and retries with backoff on 408, 409, 429, 5xx
(Anthropic's 529 "overloaded" included), timeouts and connection errors, honouring `retry-after`
and `x-should-retry`. A 529 that outlasts the retries is a retryable `ModelError`, like a 503.

A 400 saying the prompt is too long becomes an empty response with `incomplete_details.reason =
"max_output_tokens"`, so the agent ends the episode instead of failing the rollout, as the chat
backend does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson

from gymhall.exceptions import ConfigError, ModelError
from gymhall.models.base import ModelRequest
from gymhall.models.chat_completions import ended_by_context
from gymhall.models.openai_compatible import LOCAL_API_KEY, OpenAICompatibleModel, model_error, redact_url
from gymhall.wire.messages_conversion import DEFAULT_MAX_TOKENS, messages_to_response, responses_to_messages_request
from gymhall.wire.responses import Response

__all__ = ["ANTHROPIC_BASE_URL", "ANTHROPIC_VERSION", "AnthropicMessagesModel"]

logger = logging.getLogger("gymhall.models")

ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1"
ANTHROPIC_VERSION = "2023-06-01"
"""The `anthropic-version` header: the API's current (and only stable) version."""
_OVERLOADED = 529  # Anthropic's "overloaded_error": capacity, like a 503; a later try may pass
_OPENAI_HEADERS = ("openai-organization", "openai-project")


class AnthropicMessagesModel(OpenAICompatibleModel):
    """A `Model` that calls `POST {base_url}/messages`; several base URLs spread rollouts over replicas.

    Args:
        model: the model id to request (required by the API; "" asks `GET /models` once for the newest).
        base_url: one URL or several (replicas), up to the version: `https://api.anthropic.com/v1`.
        api_key: defaults to `ANTHROPIC_API_KEY`, else a placeholder that local servers accept.
        sampling: Messages parameters applied over every request's own, last (`max_output_tokens` is
            accepted for `max_tokens`; `thinking`, `top_k`, `temperature`, ...).
        extra_body: Messages parameters applied under every request's own.
        timeout_s: the timeout of one attempt; a rollout's deadline shortens it and bounds all retries.
        max_retries: retries after the first attempt, for 429, 529, 5xx, timeouts and connection errors.
        max_tokens: `max_tokens` of requests that set no `max_output_tokens` (the API requires one).
        version: the `anthropic-version` header.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | Sequence[str] = ANTHROPIC_BASE_URL,
        api_key: str | None = None,
        sampling: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout_s: float = 600.0,
        max_retries: int = 3,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        version: str = ANTHROPIC_VERSION,
    ) -> None:
        key = api_key or os.environ.get("ANTHROPIC_API_KEY") or ""
        # Always an explicit key: the base class would fall back to OPENAI_API_KEY and send it here.
        super().__init__(
            model,
            base_url=base_url,
            api_key=key or LOCAL_API_KEY,
            sampling=sampling,
            extra_body=extra_body,
            timeout_s=timeout_s,
            max_retries=max_retries,
        )
        self._has_key = bool(key)
        if "max_output_tokens" in self.sampling:  # the Responses name, as configs often write it
            self.sampling["max_tokens"] = self.sampling.pop("max_output_tokens")
        self.max_tokens = max_tokens
        for replica in self._replicas:
            # The shared replica speaks OpenAI's auth; Anthropic reads the key from x-api-key instead.
            headers = dict(replica.headers)
            if not headers.get("authorization", "").startswith("Basic "):  # URL credentials stay (a proxy's)
                headers.pop("authorization", None)
            for header in _OPENAI_HEADERS:
                headers.pop(header, None)
            headers.update({"x-api-key": self._api_key, "anthropic-version": version})
            replica.headers = headers
            replica.pool.headers = dict(headers)  # the pool builds its client lazily, from these

    def body(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The Messages request body sent for Responses `params`: extra_body, then params, then sampling."""
        body = {**self.extra_body, **responses_to_messages_request(params, default_max_tokens=self.max_tokens)}
        body.update(self.sampling)
        body.pop("stream", None)
        body["model"] = self.name
        return body

    async def respond(self, request: ModelRequest) -> Response:
        """Send one Messages call to the rollout's replica; raise `ModelError` once retries are spent."""
        try:
            raw = await self._post(request, "/messages")
        except ModelError as error:
            if not ended_by_context(self, error):
                raise
            empty = {"type": "message", "model": self.name, "content": [], "stop_reason": "max_tokens"}
            return messages_to_response(empty, request_params=request.params)
        try:
            return messages_to_response(orjson.loads(raw.content), request_params=request.params)
        except ValueError as exc:  # invalid JSON, an unknown block, or a Response that does not validate
            message = f"{redact_url(raw.url)} answered an unusable Messages reply: {exc}"
            raise ModelError(self._redact(message), status_code=raw.status_code) from None

    async def preflight(self, *, key_source: str = "ANTHROPIC_API_KEY", timeout_s: float = 5.0) -> None:
        """Check that Anthropic gets a key and that every base URL answers `GET /models`; raise `ConfigError`."""
        # Callers name OpenAI's variable, the default for every other backend; this one reads Anthropic's.
        key_source = key_source.replace("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
        if not self._has_key and any(urlsplit(url).hostname == "api.anthropic.com" for url in self.base_urls):
            raise ConfigError(f"no API key for {ANTHROPIC_BASE_URL} (model {self.name!r}).\n  Fix: set {key_source}")
        problems = [await self._probe(replica, key_source, timeout_s) for replica in self._replicas]
        found = [problem for problem in problems if problem]
        if found:
            raise ConfigError(found[0])

    def _error(self, exc: BaseException, url: str) -> ModelError:
        error = model_error(exc, url, self._api_key, self.max_retries)
        if error.status_code == _OVERLOADED:
            # Retried here already; the rollout may still be retried later, as after a 503.
            # model_error leaves out the retries for statuses the rollout pool would not retry; 529 is retried.
            tried = str(error).replace("HTTP 529:", f"HTTP 529 after {self.max_retries} retries:", 1)
            error = ModelError(
                f"{tried} (Anthropic is overloaded: try again later, or lower the concurrency)",
                retryable=True,
                status_code=_OVERLOADED,
            )
        return error
