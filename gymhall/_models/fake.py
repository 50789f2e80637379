"""The fake OpenAI server's policies as an in-process `Model`: no HTTP, no SDK, for tests and benchmarks.

model = FakeModel(counter_policy())   # answers as `FakeOpenAI(counter_policy())` would over HTTP
"""

from __future__ import annotations

import inspect

import orjson

from gymhall._exceptions import ModelError
from gymhall._fake_openai import Failure, FakeOpenAI, FakeRequest, Policy, Turn, echo_policy
from gymhall._models.base import Model, ModelRequest
from gymhall._responses import Response

__all__ = ["FakeModel"]


class FakeModel(Model):
    """Answers every request with `policy`, in this process; the answers match `FakeOpenAI`'s over HTTP."""

    name = "fake"

    def __init__(self, policy: Policy = echo_policy, *, model: str = "fake-model") -> None:
        self._fake = FakeOpenAI(policy, model=model)

    async def respond(self, request: ModelRequest) -> Response:
        body = dict(request.params)
        result = self._fake.policy(FakeRequest(body, "responses"))
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, str):
            result = Turn(text=result)
        if isinstance(result, Failure):
            raise ModelError(result.message, retryable=result.status == 429 or result.status >= 500)
        # Validated from JSON, as an HTTP model's answer is (and pydantic's JSON path is the faster one).
        return Response.model_validate_json(orjson.dumps(self._fake._responses_body(body, result, 0)))
