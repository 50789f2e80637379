"""One line as the page shows it: turns grouped, tool outputs named, unknown items kept, the verdict split."""

from __future__ import annotations

from gymhall.view.index import RolloutEntry
from gymhall.view.trajectory import item_view, trajectory


def entry(ok: bool = True) -> RolloutEntry:
    return RolloutEntry(0, 4, 1, 0, 10, 1, ok, 1.0 if ok else None, {}, stage=None if ok else "model")


LINE = {
    "responses_create_params": {"input": "What is 2+2?", "instructions": "Be brief."},
    "response": {
        "model": "m",
        "output": [
            {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "add"}]},
            {"type": "function_call", "call_id": "c1", "name": "calc", "arguments": '{"x": 2}'},
            {"type": "function_call", "call_id": "c2", "name": "note", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "ok"}]},
            {"type": "function_call_output", "call_id": "c1", "output": "4"},
            {"type": "web_search_call", "id": "ws", "status": "completed"},
            {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
        ],
    },
    "question": "2+2",
    "reward": 1.0,
    "extracted_answer": "4",
    "status": "ok",
    "_ng_task_index": 4,
    "_ng_rollout_index": 1,
    "mask_sample": False,
}


def test_turns_group_model_items_and_name_each_tool_output() -> None:
    view = trajectory(entry(), LINE, inputs={"question"})
    assert [step["kind"] for step in view["steps"]] == ["model", "tool", "tool", "model"]
    assert [item["kind"] for item in view["steps"][0]["items"]] == ["reasoning", "function_call", "function_call"]
    assert view["steps"][0]["items"][0]["text"] == "add"  # reasoning content when the summary is empty
    assert [(s["name"], s["items"][0]["text"]) for s in view["steps"][1:3]] == [("note", "ok"), ("calc", "4")]
    assert view["steps"][3]["items"][0] == {"kind": "web_search_call", "raw": LINE["response"]["output"][5]}
    assert view["steps"][3]["items"][1]["text"] == "no"


def test_input_instructions_and_the_verdict_split_by_the_row_fields() -> None:
    view = trajectory(entry(), LINE, inputs={"question", "reward"})
    assert view["input"] == [{"kind": "message", "role": "user", "text": "What is 2+2?"}]
    assert view["instructions"] == "Be brief." and view["model"] == "m"
    assert view["row"] == {"question": "2+2"}
    assert view["verify"] == {"reward": 1.0, "extracted_answer": "4"}  # outcome keys and indices left out


def test_a_failed_line_without_a_failure_object_reports_its_reason() -> None:
    line = {
        "mask_sample": True,
        "failure_kind": "gymhall:model_failed",
        "failure_reason": "timeout",
        "status": "failed",
    }
    view = trajectory(entry(ok=False), line)
    assert view["status"] == "failed" and view["failure"] == {"stage": "model", "error": "timeout"}
    assert view["steps"] == [] and view["input"] == []


def test_items_that_are_not_objects_are_kept() -> None:
    assert item_view("text") == {"kind": "other", "raw": "text"}
    assert item_view({"role": "user", "content": "hi"}) == {"kind": "message", "role": "user", "text": "hi"}
