"""`gymhall.collection.atif`: rollout lines as ATIF-v1.7 trajectories (NeMo Gym 0.7's strict subset) and back."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from gymhall.collection.atif import (
    ATIF_VERSION,
    MANIFEST,
    Trajectory,
    export_atif,
    rollout_lines,
    trajectory_line,
    trajectory_of,
)
from gymhall.collection.reverify import reverify_file
from gymhall.collection.runs import CollectOptions, run_collect
from gymhall.config.registry import get_env
from gymhall.exceptions import DatasetError


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The lines of a JSONL file, by (task, rollout): collect writes them in completion order."""
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return sorted(lines, key=lambda line: (line.get("_ng_task_index", 0), line.get("_ng_rollout_index", 0)))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three real workplace rollouts: `gymhall collect --env workplace --model replay --limit 3`."""
    spec = get_env("workplace")
    output = tmp_path_factory.mktemp("run") / "workplace.jsonl"
    options = CollectOptions(input=spec.dataset, output=output, configs=[str(spec.config)], limit=3)
    stats = asyncio.run(run_collect(options))
    assert stats.ok == 3 and stats.failed == 0
    return output


def comparable(line: dict[str, Any]) -> dict[str, Any]:
    """A line without its output items' ids and statuses, which ATIF has no field for."""
    output = [{k: v for k, v in item.items() if k not in ("id", "status")} for item in line["response"]["output"]]
    return {**line, "response": {**line["response"], "output": output}}


def test_each_ok_rollout_is_one_valid_file_listed_in_the_manifest(run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "atif"
    assert export_atif(run, folder, session_id="s1", agent_version="7") == (3, [])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["atif"]  # no staging folder left
    manifest = read_lines(folder / MANIFEST)
    assert [entry["trajectory_path"] for entry in manifest] == ["0-0.json", "1-0.json", "2-0.json"]
    assert sorted(path.name for path in folder.iterdir()) == ["0-0.json", "1-0.json", "2-0.json", MANIFEST]
    for entry, line in zip(manifest, read_lines(run), strict=True):
        data = (folder / entry["trajectory_path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["expected_sha256"]
        trajectory = Trajectory.model_validate_json(data)  # the schema, strict: every written file passes it
        assert trajectory.schema_version == ATIF_VERSION
        assert trajectory.trajectory_id == f"s1:{entry['_ng_task_index']}:0"
        assert (trajectory.agent.name, trajectory.agent.version, trajectory.agent.model_name) == (
            "gymhall",
            "7",
            "replay",
        )
        sources = [step.source for step in trajectory.steps]
        assert sources[:2] == ["system", "user"] and set(sources[2:]) == {"agent"}
        calls = [item for item in line["response"]["output"] if item["type"] == "function_call"]
        outputs = [item["output"] for item in line["response"]["output"] if item["type"] == "function_call_output"]
        written_calls = [call for step in trajectory.steps for call in step.tool_calls or ()]
        assert [(c.function_name, c.arguments) for c in written_calls] == [
            (c["name"], orjson.loads(c["arguments"])) for c in calls
        ]
        results = [r.content for step in trajectory.steps if step.observation for r in step.observation.results]
        assert results == outputs
        assert trajectory.steps[-1].message == line["response"]["output"][-1]["content"][0]["text"]
        assert trajectory.final_metrics.total_steps == len(trajectory.steps)


def test_the_folder_reads_back_into_the_same_lines(run: Path, tmp_path: Path) -> None:
    export_atif(run, tmp_path / "atif")
    assert [comparable(line) for line in rollout_lines(tmp_path / "atif")] == [comparable(x) for x in read_lines(run)]


def test_reverify_grades_an_atif_folder_as_it_graded_the_lines(run: Path, tmp_path: Path) -> None:
    export_atif(run, tmp_path / "atif")
    spec = get_env("workplace")
    for replay in (True, None):
        target = tmp_path / f"reverified_{replay}.jsonl"
        stats = asyncio.run(reverify_file(tmp_path / "atif", target, configs=[str(spec.config)], replay=replay))
        assert stats.ok == 3 and stats.failed == 0 and not stats.drift_at
        assert [line["reward"] for line in read_lines(target)] == [line["reward"] for line in read_lines(run)]
        assert all(line["previous_reward"] == line["reward"] for line in read_lines(target))


def test_a_file_changed_after_export_fails_its_checksum(run: Path, tmp_path: Path) -> None:
    export_atif(run, tmp_path / "atif")
    path = tmp_path / "atif" / "1-0.json"
    path.write_bytes(path.read_bytes().replace(b"replay", b"replaz"))
    with pytest.raises(DatasetError, match=r"1-0.json: its SHA-256 differs from manifest.jsonl's"):
        rollout_lines(tmp_path / "atif")


def test_an_export_never_overwrites_and_skips_failed_lines_by_name(run: Path, tmp_path: Path) -> None:
    lines = read_lines(run)
    lines[1] = {key: value for key, value in lines[1].items() if key not in ("response", "reward")}
    lines[1] |= {"status": "failed", "failure": {"stage": "model", "error": "boom", "retryable": True}}
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    written, skipped = export_atif(mixed, tmp_path / "atif")
    assert written == 2 and skipped == ["1-0: a failed rollout (no trajectory to export)"]
    with pytest.raises(DatasetError, match="already exists. Fix: name a new folder"):
        export_atif(mixed, tmp_path / "atif")


NEMO_GYM_LINE: dict[str, Any] = {  # NeMo Gym 0.7's output line: no status; agent_ref, usage and token ids
    "responses_create_params": {"input": "How much is 2 + 3?", "tools": [], "temperature": 1.0},
    "response": {
        "id": "resp_1",
        "created_at": 1.0,
        "model": "policy",
        "object": "response",
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "tools": [],
        "usage": {"input_tokens": 30, "output_tokens": 9, "input_tokens_details": {"cached_tokens": 4}},
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Add them."}]},
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "c1",
                "name": "add",
                "arguments": '{"a": 2, "b": 3}',
                "prompt_token_ids": [1, 2, 3],
                "generation_token_ids": [4, 5],
                "generation_log_probs": [-0.5, -0.25],
            },
            {"type": "function_call_output", "call_id": "c1", "output": "5"},
            {
                "type": "message",
                "id": "msg_2",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "5", "annotations": []}],
                "prompt_token_ids": [1, 2, 3, 4, 5, 6],
                "generation_token_ids": [7],
                "generation_log_probs": [-0.125],
            },
        ],
    },
    "reward": 1.0,
    "mask_sample": False,
    "agent_ref": {"type": "responses_api_agents", "name": "math_simple_agent"},
    "_ng_task_index": 4,
    "_ng_rollout_index": 1,
}


def test_a_nemo_gym_line_keeps_its_agent_tokens_and_usage() -> None:
    trajectory = trajectory_of(NEMO_GYM_LINE, session_id="s")
    assert trajectory.agent.name == "math_simple_agent" and trajectory.trajectory_id == "s:4:1"
    user, turn, answer = trajectory.steps
    assert (user.source, user.message) == ("user", "How much is 2 + 3?")
    assert (
        turn.reasoning_content == "Add them." and turn.tool_calls and turn.tool_calls[0].arguments == {"a": 2, "b": 3}
    )
    assert turn.metrics and turn.metrics.prompt_token_ids == [1, 2, 3] and turn.metrics.logprobs == [-0.5, -0.25]
    assert turn.metrics.completion_tokens == 2 and answer.message == "5"
    assert answer.metrics and answer.metrics.completion_token_ids == [7]
    totals = trajectory.final_metrics
    assert (totals.total_prompt_tokens, totals.total_completion_tokens, totals.total_cached_tokens) == (30, 9, 4)
    back = trajectory_line(Trajectory.model_validate_json(trajectory.model_dump_json(exclude_none=True)))
    items = back["response"]["output"]
    assert [item["type"] for item in items] == ["reasoning", "function_call", "function_call_output", "message"]
    assert items[1]["arguments"] == '{"a": 2, "b": 3}' and items[1]["generation_log_probs"] == [-0.5, -0.25]
    assert items[3]["prompt_token_ids"] == [1, 2, 3, 4, 5, 6]
    assert back["responses_create_params"] == {
        "input": [{"role": "user", "content": "How much is 2 + 3?"}],
        "tools": [],
        "temperature": 1.0,
    }
    assert (back["_ng_task_index"], back["_ng_rollout_index"], back["reward"]) == (4, 1, 1.0)


def valid() -> dict[str, Any]:
    return orjson.loads(trajectory_of(NEMO_GYM_LINE, session_id="s").model_dump_json(exclude_none=True))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda t: t.update(schema_version="ATIF-v1.6"), "schema_version"),
        (lambda t: t.update(surprise=1), "Extra inputs are not permitted"),
        (lambda t: t["steps"][1].update(step_id=5), "step_id must count 1, 2, 3"),
        (lambda t: t["steps"][0].update(tool_calls=[]), "tool_calls belong on agent steps only"),
        (lambda t: t["steps"][1]["observation"]["results"][0].update(source_call_id="c9"), "observation of 'c9'"),
        (lambda t: t["final_metrics"].update(total_steps="3"), "total_steps"),  # strict: no string for an int
        (lambda t: t["steps"][2].update(source="tool"), "source"),
        (lambda t: t.update(steps=[]), "at least 1 item"),
    ],
)
def test_the_schema_refuses_what_atif_v1_7_forbids(change: Any, error: str) -> None:
    Trajectory.model_validate_json(orjson.dumps(valid()))
    broken = valid()
    change(broken)
    with pytest.raises(ValidationError, match=error):
        Trajectory.model_validate_json(orjson.dumps(broken))
