"""A model behind any OpenAI-compatible Responses API: OpenAI, vLLM, SGLang, a gymhall model server.

    model = OpenAIResponsesModel("Qwen/Qwen3-8B", base_url=["http://gpu1:8000/v1", "http://gpu2:8000/v1"])
    response = await model.respond(ModelRequest(params={"input": "hi"}, session_key="rollout-7"))

Each call is sent on gymhall's own connection pool and retried as the OpenAI SDK would (exponential
backoff with jitter on 429, 5xx, timeouts and connection errors, honouring Retry-After, at most
`max_retries` times). The raw JSON answer is validated once, into gymhall's lenient `Response`, so
fields a backend adds (token ids, log-probs) survive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from gymhall.exceptions import ModelError
from gymhall.models.base import ModelRequest
from gymhall.models.openai_compatible import (
    DEFAULT_BASE_URL,
    OpenAICompatibleModel,
    model_error,
    redact_url,
)
from gymhall.wire.responses import Response

__all__ = ["DEFAULT_BASE_URL", "OpenAIResponsesModel", "model_error", "redact_url"]


class OpenAIResponsesModel(OpenAICompatibleModel):
    """A `Model` that calls `POST {base_url}/responses`; several base URLs spread rollouts over replicas.

    Args:
        model: the model id to request; "" asks the server (`GET /models`) once and uses its first id, or
            names none where the server has no such route (NeMo Gym's model servers pick their own).
        base_url: one URL or several (replicas); a rollout stays on one, chosen by its session key.
        api_key: defaults to `OPENAI_API_KEY`, else a placeholder that local servers accept.
        sampling: parameters applied over every request's own (e.g. pinned temperature for training).
        extra_body: parameters applied under every request's own (e.g. vLLM's `chat_template_kwargs`).
        timeout_s: the timeout of one attempt; a rollout's deadline shortens it and bounds all retries.
        max_retries: retries after the first attempt, for 429, 5xx, timeouts and connection errors.
    """

    def body(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body sent for `params`: extra_body, then params, then sampling; never streaming."""
        body = {**self.extra_body, **params, **self.sampling}
        body.pop("stream", None)
        if self.name:
            body["model"] = self.name
        return body

    async def respond(self, request: ModelRequest) -> Response:
        """Send one Responses call to the rollout's replica; raise `ModelError` once retries are spent."""
        raw = await self._post(request, "/responses")
        try:
            return Response.model_validate_json(raw.content)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in problem["loc"]) or "the body"
            message = f"{redact_url(raw.url)} answered an invalid Response ({where}: {problem['msg']})"
            raise ModelError(self._redact(message), status_code=raw.status_code) from None
