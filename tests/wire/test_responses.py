import subprocess
import sys

from gymhall import Response, ResponseCreateParams
from gymhall.wire.responses import UnknownItem

NEMO_GYM_EPISODE = {
    "id": "resp_x",
    "created_at": 0,
    "model": "m",
    "object": "response",
    "output": [
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}]},
        {"type": "function_call", "call_id": "call_a", "name": "increment", "arguments": '{"by": 1}'},
        {"type": "function_call_output", "call_id": "call_a", "output": '{"count": 1}'},
        {"type": "brand_new_item", "payload": {"x": 1}},
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "1", "annotations": []}],
        },
    ],
    "parallel_tool_calls": False,
    "tool_choice": "auto",
    "tools": [],
    "usage": {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 3,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 13,
    },
}


def test_episode_response_with_tool_outputs_validates() -> None:
    response = Response.model_validate(NEMO_GYM_EPISODE)
    kinds = [item.type for item in response.output]
    assert kinds == ["reasoning", "function_call", "function_call_output", "brand_new_item", "message"]
    assert response.output_text == "1"
    assert isinstance(response.output[3], UnknownItem)


def test_episode_response_round_trips_unchanged() -> None:
    dumped = Response.model_validate(NEMO_GYM_EPISODE).model_dump(mode="json", exclude_unset=True)
    assert dumped == NEMO_GYM_EPISODE


def test_create_params_accept_every_input_shape_and_keep_unknown_keys() -> None:
    params = {
        "input": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"role": "assistant", "content": "earlier answer"},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "ok"},
        ],
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}],
        "temperature": 0.2,
        "vendor_knob": {"a": 1},
    }
    parsed = ResponseCreateParams.model_validate(params)
    assert parsed.model_dump(mode="json", exclude_unset=True) == params


def test_create_params_dump_and_revalidate() -> None:
    parsed = ResponseCreateParams.model_validate({"input": [{"role": "user", "content": "hi"}]})
    again = ResponseCreateParams.model_validate(parsed.model_dump())
    assert again.model_dump(exclude_none=True) == parsed.model_dump(exclude_none=True)


def test_string_input_is_kept() -> None:
    assert ResponseCreateParams.model_validate({"input": "hello"}).input == "hello"


def test_the_response_validator_is_built_at_import_and_the_sdk_is_not_imported() -> None:
    # In a fresh interpreter: no first rollout pays for building the validator, and nothing loads the SDK.
    script = (
        "import sys\n"
        "import gymhall.wire.responses as r\n"
        "print(type(r.Response.__pydantic_validator__).__name__, 'openai' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["SchemaValidator", "False"]
