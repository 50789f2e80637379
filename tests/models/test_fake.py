"""The in-process fake model: `respond_data` is exactly `respond`'s validated dump, without validating its own parts."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from gymhall.exceptions import ModelError
from gymhall.models.base import ModelRequest
from gymhall.models.fake import FakeModel
from gymhall.testing import Failure, FakeOpenAI, FakeRequest, ToolCall, Turn
from gymhall.wire.responses import Response

TURNS = [
    Turn(text="4"),
    Turn(),
    Turn(tool_calls=[ToolCall("add", {"by": 1}), ToolCall("add", '{"by": ', call_id="c9")]),
    Turn(text="so", reasoning="because", tool_calls=[ToolCall("look")]),
    Turn(text="cut", incomplete=True),
    Turn(text="no", finish_reason="content_filter"),
    Turn(reasoning="only thinking"),
]

PARAMS: list[dict[str, Any]] = [
    {"input": "count"},
    {
        "input": [{"role": "user", "content": "count"}],
        "model": "m",
        "instructions": "be brief",
        "temperature": 1,
        "top_p": 0.5,
        "max_output_tokens": 10,
        "metadata": {"k": "v"},
        "parallel_tool_calls": False,
        "tool_choice": "required",
        "tools": [
            {"type": "function", "name": "add", "parameters": {"type": "object"}, "strict": True, "description": "d"},
            {"type": "web_search"},
            {"type": "a_tool_from_the_future", "x": 1},
        ],
    },
]


class RecordingFake(FakeOpenAI):
    """Keeps the wire body of every answer, so the test can validate the very same answer."""

    def __init__(self, turn: Turn) -> None:
        super().__init__(lambda request: turn)
        self.wires: list[dict[str, Any]] = []

    def _responses_body(self, body: dict[str, Any], turn: Turn, request_bytes: int) -> dict[str, Any]:
        wire = super()._responses_body(body, turn, request_bytes)
        self.wires.append(wire)
        return wire


@pytest.mark.parametrize("params", PARAMS, ids=["bare", "every_echoed_field"])
@pytest.mark.parametrize("turn", TURNS)
async def test_respond_data_is_the_validated_dump_byte_for_byte(turn: Turn, params: dict[str, Any]) -> None:
    model = FakeModel()
    model._fake = fake = RecordingFake(turn)
    for _ in range(3):  # the first answer validates the echoed fields; later ones reuse their dump
        data = await model.respond_data(ModelRequest(params))
        validated = Response.model_validate_json(orjson.dumps(fake.wires[-1]))
        assert orjson.dumps(data) == orjson.dumps(validated.model_dump(mode="json", exclude_unset=True))
    assert model._echoes, "the shortcut is off: the fake's own fields no longer dump as written"


async def test_answers_share_no_mutable_parts() -> None:
    model = FakeModel(lambda request: Turn(text="hi"))
    params = PARAMS[1]
    first = await model.respond_data(ModelRequest(params))
    first["tools"][0]["name"] = "changed"
    first["metadata"]["k"] = "changed"
    second = await model.respond_data(ModelRequest(params))
    assert second["tools"][0]["name"] == "add"
    assert second["metadata"] == {"k": "v"}


async def test_an_invalid_echoed_field_fails_as_respond_does() -> None:
    model = FakeModel(lambda request: Turn(text="hi"))
    params = {"input": "hi", "temperature": "hot"}
    for _ in range(2):  # never cached
        with pytest.raises(ValidationError):
            await model.respond_data(ModelRequest(params))
    with pytest.raises(ValidationError):
        await model.respond(ModelRequest(params))


async def test_a_failure_is_a_model_error() -> None:
    model = FakeModel(lambda request: Failure(503, "overloaded"))
    with pytest.raises(ModelError, match="overloaded") as caught:
        await model.respond_data(ModelRequest({"input": "hi"}))
    assert caught.value.retryable


async def test_a_subclass_that_changes_respond_is_used_by_respond_data() -> None:
    class Shouting(FakeModel):
        async def respond(self, request: ModelRequest) -> Response:
            response = await super().respond(request)
            return response.model_copy(update={"model": "SHOUTING"})

    data = await Shouting().respond_data(ModelRequest({"input": "hi"}))
    assert data["model"] == "SHOUTING"
    assert data["output"][0]["content"][0]["text"] == "hi"


async def test_the_policy_sees_the_request() -> None:
    seen: list[FakeRequest] = []

    def policy(request: FakeRequest) -> Turn:
        seen.append(request)
        return Turn(text=request.user_text().upper())

    data = await FakeModel(policy).respond_data(ModelRequest({"input": "quiet"}))
    assert data["output"][0]["content"][0]["text"] == "QUIET"
    assert seen[0].turn_index == 0
