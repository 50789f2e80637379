"""The fake OpenAI server's policies as an in-process `Model`: no HTTP, no SDK, for tests and benchmarks.

model = FakeModel(counter_policy())   # answers as `FakeOpenAI(counter_policy())` would over HTTP
"""

from __future__ import annotations

import inspect
from typing import Any

import orjson

from gymhall.exceptions import ModelError
from gymhall.models.base import Model, ModelRequest
from gymhall.models.fake_openai import FakeOpenAI
from gymhall.models.fake_policy import Failure, FakeRequest, Policy, Turn, echo_policy
from gymhall.wire.contract import retryable_status
from gymhall.wire.responses import Response

__all__ = ["FakeModel"]

# Fields of an answer copied from the request (the row's tools, sampling parameters...): not built by
# this code, so their dump always comes from validating them (cached by value, see `respond_data`).
_ECHOED = (
    "instructions",
    "max_output_tokens",
    "metadata",
    "model",
    "parallel_tool_calls",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
)
_MAX_ECHOES = 64


def trusted_dump(answer: dict[str, Any], echoed: dict[str, Any]) -> dict[str, Any]:
    """What validating `answer` (`FakeOpenAI._responses_body`'s wire body) and dumping it in JSON mode gives,
    given the dump of its echoed fields: the fake writes its own fields in `Response`'s field order already."""
    data = {**answer, "created_at": float(answer["created_at"])}  # the SDK's field is a float
    data.update(echoed)  # keeps each key's place
    return data


class FakeModel(Model):
    """Answers every request with `policy`, in this process; the answers match `FakeOpenAI`'s over HTTP."""

    name = "fake"

    def __init__(self, policy: Policy = echo_policy, *, model: str = "fake-model") -> None:
        self._fake = FakeOpenAI(policy, model=model)
        self._echoes: dict[bytes, bytes] = {}  # echoed request fields (JSON) -> their validated dump (JSON)

    async def _answer(self, request: ModelRequest) -> dict[str, Any]:
        """The answer's wire body, as `FakeOpenAI` would send it; raises `ModelError` for a `Failure`."""
        body = dict(request.params)
        result = self._fake.policy(FakeRequest(body, "responses"))
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, str):
            result = Turn(text=result)
        if isinstance(result, Failure):
            raise ModelError(result.message, retryable=retryable_status(result.status))
        return self._fake._responses_body(body, result, 0)

    async def respond(self, request: ModelRequest) -> Response:
        # Validated from JSON, as an HTTP model's answer is (and pydantic's JSON path is the faster one).
        return Response.model_validate_json(orjson.dumps(await self._answer(request)))

    async def respond_data(self, request: ModelRequest) -> dict[str, Any]:
        """`respond`'s dump, without validating what this code built; the fields echoed from the request
        are validated once per distinct value (a miss takes the whole `respond` path)."""
        if type(self).respond is not FakeModel.respond:  # a subclass answers differently
            return await super().respond_data(request)
        answer = await self._answer(request)
        key = orjson.dumps([answer[name] for name in _ECHOED])
        echoed = self._echoes.get(key)
        if echoed is not None:
            # A fresh copy of the echoed fields each time: answers never share mutable parts.
            return trusted_dump(answer, orjson.loads(echoed))
        data = Response.model_validate_json(orjson.dumps(answer)).model_dump(mode="json", exclude_unset=True)
        dumped = {name: data[name] for name in _ECHOED if name in data}
        # Cached only when the shortcut gives exactly the validated dump (an SDK that reorders or adds
        # fields turns it off rather than changing the answers).
        if orjson.dumps(trusted_dump(answer, dumped)) == orjson.dumps(data):
            if len(self._echoes) >= _MAX_ECHOES:
                self._echoes.clear()
            self._echoes[key] = orjson.dumps(dumped)
        return data
