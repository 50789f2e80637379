"""A model behind a Chat Completions API only: vLLM, SGLang, or any OpenAI-compatible server.

    model = ChatCompletionsModel("Qwen/Qwen3-8B", base_url="http://gpu1:8000/v1", return_token_ids=True)
    response = await model.respond(ModelRequest(params={"input": "hi"}, session_key="rollout-7"))

Each Responses request is converted to `POST {base_url}/chat/completions` and the answer back to a
gymhall `Response` (`gymhall.wire.conversion`). Each call is sent on gymhall's own connection pool and
retried as the OpenAI SDK would (exponential backoff with jitter on 429, 5xx, timeouts and connection
errors, honouring Retry-After, at most `max_retries` times); the raw JSON answer is converted, so
fields vLLM adds (token ids) survive.

With `return_token_ids=True` every request asks vLLM (0.10.2 or later) for `logprobs: true,
top_logprobs: 0` (the sampled token's log-prob only), `return_token_ids: true` (the prompt's and the
generation's token ids) and `return_tokens_as_token_ids: true` (log-prob tokens as "token_id:<id>",
so ids are exact even where `token_ids` is missing); the last output item of each call then carries
`prompt_token_ids`, `generation_token_ids` and `generation_log_probs`, as NeMo Gym's vLLM model does.

A 400 saying the prompt no longer fits the context (vLLM's "maximum context length", OpenAI's
`context_length_exceeded`) becomes an empty response with `incomplete_details.reason =
"max_output_tokens"`, so the agent ends the episode instead of failing the rollout.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from gymhall.exceptions import ModelError
from gymhall.models.base import ModelRequest
from gymhall.models.openai_compatible import OpenAICompatibleModel, StatusError, redact_url
from gymhall.wire.conversion import ReasoningFormat, chat_to_response, responses_to_chat_request
from gymhall.wire.responses import Response

__all__ = ["ChatCompletionsModel", "ended_by_context", "is_context_overflow"]

logger = logging.getLogger("gymhall.models")

_MAX_TOKEN_KEYS = ("max_tokens", "max_completion_tokens")
_TOKEN_ID_REQUEST = {"logprobs": True, "return_tokens_as_token_ids": True, "return_token_ids": True}
# How vLLM, SGLang, OpenAI and llama.cpp say that the prompt plus max tokens exceed the context.
_CONTEXT_OVERFLOW = re.compile(
    r"context length|context_length|context window|max_model_len|maximum model length"
    r"|maximum allowed length|prompt is too long|longer than the maximum",
    re.IGNORECASE,
)


class ChatCompletionsModel(OpenAICompatibleModel):
    """A `Model` that calls `POST {base_url}/chat/completions`; several base URLs spread rollouts over replicas.

    Args:
        model: the model id to request; "" asks the server (`GET /models`) once and uses its first id, or
            names none where the server has no such route (NeMo Gym's model servers pick their own).
        base_url: one URL or several (replicas); a rollout stays on one, chosen by its session key.
        api_key: defaults to `OPENAI_API_KEY`, else a placeholder that local servers accept.
        sampling: chat parameters applied over every request's own, last (server-pinned sampling for
            on-policy training); `max_output_tokens` is accepted for `max_completion_tokens`.
        extra_body: chat parameters applied under every request's own (e.g. `chat_template_kwargs`).
        timeout_s: the timeout of one attempt; a rollout's deadline shortens it and bounds all retries.
        max_retries: retries after the first attempt, for 429, 5xx, timeouts and connection errors.
        return_token_ids: ask vLLM for token ids and log-probs and keep them on the output items.
        reasoning_format: how earlier turns' reasoning is sent back: in the assistant message's
            `reasoning`/`reasoning_content` fields (vLLM and SGLang reasoning parsers), or as a
            `<think>...</think>` block in its content (servers without a reasoning parser).
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | Sequence[str],
        api_key: str | None = None,
        sampling: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 3,
        return_token_ids: bool = False,
        reasoning_format: ReasoningFormat = "reasoning_content",
    ) -> None:
        if reasoning_format not in ("reasoning_content", "think_tags"):
            raise ValueError(f"Unknown reasoning_format {reasoning_format!r}: use 'reasoning_content' or 'think_tags'.")
        super().__init__(
            model,
            base_url=base_url,
            api_key=api_key,
            sampling=sampling,
            extra_body=extra_body,
            timeout_s=timeout_s,
            max_retries=max_retries,
        )
        if "max_output_tokens" in self.sampling:  # the Responses name, as configs often write it
            self.sampling["max_completion_tokens"] = self.sampling.pop("max_output_tokens")
        self.return_token_ids = return_token_ids
        self.reasoning_format: ReasoningFormat = reasoning_format

    def body(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The chat request body sent for Responses `params`: extra_body, then params, then sampling."""
        body = {**self.extra_body, **responses_to_chat_request(params, reasoning_format=self.reasoning_format)}
        if any(key in self.sampling for key in _MAX_TOKEN_KEYS):  # a pinned limit wins over the request's
            for key in _MAX_TOKEN_KEYS:
                body.pop(key, None)
        body.update(self.sampling)
        if self.return_token_ids:
            body.update(_TOKEN_ID_REQUEST)
            body.setdefault("top_logprobs", 0)
        body.pop("stream", None)
        if self.name:
            body["model"] = self.name
        return body

    async def respond(self, request: ModelRequest) -> Response:
        """Send one chat call to the rollout's replica; raise `ModelError` once retries are spent."""
        try:
            raw = await self._post(request, "/chat/completions")
        except ModelError as error:
            if not ended_by_context(self, error):
                raise
            return _out_of_context(self.name, request.params)
        where = redact_url(raw.url)
        try:
            return chat_to_response(orjson.loads(raw.content), request_params=request.params)
        except ValueError as exc:  # invalid JSON, no choices, or a Response that does not validate
            message = f"{where} answered an unusable chat completion: {exc}"
            raise ModelError(self._redact(message), status_code=raw.status_code) from None


def is_context_overflow(exc: StatusError) -> bool:
    """Whether a 400 says the prompt (plus the tokens asked for) does not fit the model's context."""
    if exc.status_code != 400:
        return False
    body = exc.body if isinstance(exc.body, Mapping) else {}
    if body.get("code") == "context_length_exceeded":
        return True
    return bool(_CONTEXT_OVERFLOW.search(str(body.get("message") or exc.message)))


def _out_of_context(model: str, params: Mapping[str, Any]) -> Response:
    # An empty generation stopped by the length limit: the agent ends the episode as "incomplete".
    choice = {"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason": "length"}
    return chat_to_response({"model": model, "choices": [choice]}, request_params=params)


def ended_by_context(model: OpenAICompatibleModel, error: ModelError) -> bool:
    """Whether `error` is the upstream's 400 saying the conversation no longer fits the context (then logged,
    redacted): the caller ends the episode with an incomplete response instead of failing the rollout."""
    upstream = error.upstream
    if not (isinstance(upstream, StatusError) and is_context_overflow(upstream)):
        return False
    detail = model._redact(str(upstream.body if upstream.body is not None else upstream.message))
    where = upstream.url
    logger.warning("%s: the conversation no longer fits the context; ending the episode (%s)", where, detail)
    return True
