"""Rollouts files for the viewer's tests, collected once per session by `gymhall collect` itself.

`mixed`: the weather environment played by the replay model, 12 tasks x 3 repeats, where tasks 9-11
failed at seed (their resources server was down) and task 0's first rollout has an older failed line
that its ok line supersedes (as a resumed run writes). `after`: the same rows played by the echo model
(which never calls the tool: every task gets worse). `nemo`: NeMo Gym's own shape (no status, no timings,
no gymhall fields, no task keys, usage on the response), with one line holding reasoning and token ids
and one whose answer is HTML markup.
`answers`: the replay run with an `extracted_answer` on each line, wrong (reward 0) on even tasks' rollout 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from gymhall.cli.main import app

GYMHALL_KEYS = ("status", "timings", "mask_sample", "failure_kind", "failure_reason", "failure", "steps", "stop_reason")


@dataclass(frozen=True)
class Runs:
    mixed: Path
    after: Path
    nemo: Path
    answers: Path


def _collect(out: Path, *args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["collect", "-o", str(out), "--allow-failures", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return [orjson.loads(raw) for raw in out.read_bytes().splitlines() if raw.strip()]


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def _nemo_line(line: dict[str, Any], number: int) -> dict[str, Any]:
    nemo = {k: v for k, v in line.items() if k not in GYMHALL_KEYS and not k.startswith("_ng_")}
    developer = {"type": "message", "role": "developer", "content": "You are a helpful assistant."}
    nemo["responses_create_params"] = {**nemo["responses_create_params"]}
    nemo["responses_create_params"]["input"] = [developer, *nemo["responses_create_params"]["input"]]
    usage = {"input_tokens": 100 + number, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 20 + number}
    usage |= {"output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 120 + 2 * number}
    nemo["response"] = {**nemo["response"], "usage": usage}
    return nemo


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("view-runs")
    common = ["--env", "weather", "--limit", "12", "--repeats", "3"]
    replay = _collect(root / "replay.jsonl", *common, "--model", "replay")
    dead = _collect(root / "dead.jsonl", *common, "--resources-url", "http://127.0.0.1:9", "--max-attempts", "1")
    _collect(root / "after.jsonl", *common, "--model", "fake:echo")
    first_failed = next(line for line in dead if (line["_ng_task_index"], line["_ng_rollout_index"]) == (0, 0))
    mixed = (
        [first_failed]
        + [line for line in replay if line["_ng_task_index"] < 9]
        + [line for line in dead if line["_ng_task_index"] >= 9]
    )
    nemo = [_nemo_line(line, i) for i, line in enumerate(replay[:6])]
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Check the weather."}]}
    tokens = {"prompt_token_ids": [1, 2, 3], "generation_token_ids": [7, 8], "generation_log_probs": [-0.25, -1.5]}
    nemo[0]["response"]["output"] = [reasoning, *({**item, **tokens} for item in nemo[0]["response"]["output"])]
    # Rollouts are untrusted text: the page must show this as text, never run it.
    markup = '<b>bold</b><img src="x" onerror="window.injected = 1">'
    nemo[1]["response"]["output"].append({"type": "message", "role": "assistant", "content": markup})
    # Answers to vote on (majority@k): the replay model's, but a wrong one (reward 0) on even tasks' rollout 0.
    answers = [
        {**line, "extracted_answer": line["expected_answer"], "reward": 1.0}
        if line["_ng_rollout_index"] or line["_ng_task_index"] % 2
        else {**line, "extracted_answer": "maybe", "reward": 0.0}
        for line in replay
    ]
    return Runs(
        mixed=_write(root / "mixed.jsonl", mixed),
        after=root / "after.jsonl",
        nemo=_write(root / "nemo.jsonl", nemo),
        answers=_write(root / "answers.jsonl", answers),
    )
