"""`gymhall.collection.reverify`: stateless verify where it can, replayed tool calls in a fresh session where
verify reads session state, and drift between the replay and the recording reported."""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from gymhall.cli.collect import reverify_command
from gymhall.cli.main import app
from gymhall.collection.reverify import ReverifyStats, reverify_file
from gymhall.collection.runs import CollectOptions, run_collect
from gymhall.config.registry import get_env
from gymhall.testing import serve_in_thread
from gymhall.wire.contract import SESSION_HEADER

ROOT = Path(__file__).resolve().parents[2]
COUNTER = ROOT / "examples" / "counter"
COUNTER_DATA = COUNTER / "data" / "example.jsonl"
COUNTER_CONFIG = str(COUNTER / "configs" / "counter.yaml")

QUIZ_ENV = Path(__file__).resolve().parents[1] / "fixtures" / "envs" / "quiz.py"


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))


def collect(
    data: Path, out: Path, *, configs: list[str] = (), url: str | None = None, limit: int | None = None
) -> None:
    options = CollectOptions(input=data, output=out, configs=configs, resources_url=url, limit=limit)
    stats = asyncio.run(run_collect(options))
    assert stats.failed == 0 and stats.ok > 0


def reverify(out: Path, **kwargs: Any) -> tuple[ReverifyStats, list[dict[str, Any]]]:
    target = out.with_name(out.stem + "_reverified.jsonl")
    stats = asyncio.run(reverify_file(out, target, **kwargs))
    return stats, read_lines(target)


def test_the_counter_is_replayed_in_a_fresh_session_and_verified(tmp_path: Path) -> None:
    out = tmp_path / "counter.jsonl"
    collect(COUNTER_DATA, out, configs=[COUNTER_CONFIG])
    stats, redone = reverify(out, configs=[COUNTER_CONFIG])
    assert stats.failed == 0 and stats.ok == 12 and stats.replayed == 12 and stats.stateless == 0
    assert all(r["status"] == "ok" and r["reward"] == 1.0 == r["previous_reward"] for r in redone)
    assert all(r["reverified_by"] == "replay" and "replay_drift" not in r for r in redone)
    assert stats.drift_lines() == []


def test_a_changed_answer_or_tool_output_changes_the_reward_or_reports_drift(tmp_path: Path) -> None:
    out = tmp_path / "counter.jsonl"
    collect(COUNTER_DATA, out, configs=[COUNTER_CONFIG], limit=4)
    rows = read_lines(out)
    rows[0]["response"]["output"][-1]["content"][0]["text"] = "wrong"  # the final answer: graded again
    rows[1]["response"]["output"][1]["output"] = '{"value": 999}'  # the recorded tool output: drift at call 1
    spaced = json.dumps(json.loads(rows[2]["response"]["output"][1]["output"]), indent=2)
    rows[2]["response"]["output"][1]["output"] = spaced  # the same JSON value, spaced otherwise: no drift
    write_lines(out, rows)
    stats, redone = reverify(out, configs=[COUNTER_CONFIG])
    by_task = {r["_ng_task_index"]: r for r in redone}
    assert by_task[0]["reward"] == 0.0 and by_task[0]["previous_reward"] == 1.0
    assert by_task[1]["reward"] == 1.0
    assert by_task[1]["replay_drift"] == {
        "call": 1,
        "name": "increment",
        "recorded": '{"value": 999}',
        "replayed": '{"value":21}',
    }
    assert "replay_drift" not in by_task[2] and "replay_drift" not in by_task[3]
    assert stats.drift_lines() == ["1 rollout: tool output differs from the recording at call 1"]


@pytest.mark.parametrize("env_id", ["wordle", "wordle_partial"])
def test_wordle_is_replayed_and_a_different_guess_is_drift(tmp_path: Path, env_id: str) -> None:
    spec = get_env(env_id)
    out = tmp_path / f"{env_id}.jsonl"
    collect(spec.dataset, out, configs=[str(spec.config)], limit=6)
    rows = read_lines(out)
    calls = [item for item in rows[0]["response"]["output"] if item["type"] == "function_call"]
    calls[-1]["arguments"] = orjson.dumps({"word": "noise"}).decode()  # the winning guess, changed
    write_lines(out, rows)
    stats, redone = reverify(out, configs=[str(spec.config)])
    assert stats.failed == 0 and stats.replayed == 6
    by_task = {r["_ng_task_index"]: r for r in redone}
    assert by_task[0]["replay_drift"]["call"] == len(calls)
    assert by_task[0]["reward"] < 0.5 and by_task[0]["solved"] == 0.0
    assert all(by_task[i]["reward"] == by_task[i]["previous_reward"] == 1.0 for i in range(1, 6))
    assert stats.drift_lines() == [f"1 rollout: tool output differs from the recording at call {len(calls)}"]


TICKETS_ENV = """
import uuid
from dataclasses import dataclass

from gymhall import BaseSeedSessionRequest, BaseVerifyRequest, Environment, tool


class Row(BaseSeedSessionRequest):
    start: int = 0


@dataclass
class State:
    total: int


class Tickets(Environment):
    async def seed_session(self, row: Row) -> State:
        return State(row.start)

    @tool
    async def add(self, state: State, by: int) -> dict[str, int]:
        \"\"\"Add `by` to the total.\"\"\"
        state.total += by
        return {"total": state.total}

    @tool
    async def ticket(self, state: State) -> dict[str, str]:
        \"\"\"A new ticket: never the same twice, so a replay cannot reproduce it.\"\"\"
        return {"ticket": uuid.uuid4().hex}

    async def verify(self, state: State, body: BaseVerifyRequest) -> float:
        return float(body.response.output_text.strip() == str(state.total))
"""


def test_a_non_deterministic_tool_is_reported_as_drift_at_its_call(tmp_path: Path) -> None:
    (tmp_path / "tickets.py").write_text(TICKETS_ENV)
    config = tmp_path / "tickets.yaml"
    config.write_text(
        "tickets:\n  resources_servers:\n    tickets:\n      entrypoint: tickets.py\n      domain: other\n"
    )
    rows = [
        {
            "responses_create_params": {"input": f"add {i}, take a ticket, say the total"},
            "start": 10,
            "reference_solution": {
                "tool_calls": [{"name": "add", "arguments": {"by": i}}, {"name": "ticket", "arguments": {}}],
                "answer": str(10 + i),
            },
        }
        for i in range(3)
    ]
    data = tmp_path / "tickets_data.jsonl"
    write_lines(data, rows)
    out = tmp_path / "tickets_out.jsonl"
    collect(data, out, configs=[str(config)])
    stats, redone = reverify(out, configs=[str(config)])
    assert stats.failed == 0 and all(r["reward"] == 1.0 for r in redone)  # drift is reported, not a failure
    assert {r["replay_drift"]["call"] for r in redone} == {2}
    assert {r["replay_drift"]["name"] for r in redone} == {"ticket"}
    assert stats.drift_lines() == ["3 rollouts: tool output differs from the recording at call 2"]
    result = CliRunner().invoke(app, ["reverify", str(out), "-c", str(config), "-o", str(tmp_path / "again.jsonl")])
    assert result.exit_code == 0, result.output
    assert "3 rollouts: tool output differs from the recording at call 2" in result.output


class CountingApp:
    """An ASGI wrapper counting requests by path, and `/verify` requests that carry no session handle."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: Counter[str] = Counter()
        self.sessionless_verifies = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths[scope["path"]] += 1
            names = {name.decode().lower() for name, _ in scope["headers"]}
            if scope["path"] == "/verify" and SESSION_HEADER not in names and "cookie" not in names:
                self.sessionless_verifies += 1
        await self.app(scope, receive, send)


def test_only_the_first_line_probes_stateless_verify(tmp_path: Path, import_file: Any) -> None:
    from gymhall import build_app

    counter = import_file(COUNTER / "counter.py", "counter_example_for_reverify")
    counting = CountingApp(build_app(counter.Counter()))
    out = tmp_path / "counter.jsonl"
    with serve_in_thread(counting) as url:
        collect(COUNTER_DATA, out, url=url)
        counting.paths.clear()
        counting.sessionless_verifies = 0
        stats, _ = reverify(out, resources_url=url, concurrency=8)
    assert stats.ok == 12 and stats.replayed == 12
    assert counting.sessionless_verifies == 1  # one probe answered session_required; no line paid twice
    assert counting.paths["/verify"] == 13 and counting.paths["/seed_session"] == 12
    recorded_calls = sum(
        item["type"] == "function_call" for line in read_lines(out) for item in line["response"]["output"]
    )
    assert counting.paths["/increment"] == recorded_calls and counting.paths["/close_session"] == 12


def test_stateless_verify_stays_the_fast_path_and_replay_can_be_forced(tmp_path: Path) -> None:
    shutil.copy(QUIZ_ENV, tmp_path / "quiz.py")
    config = tmp_path / "quiz.yaml"
    config.write_text("quiz:\n  resources_servers:\n    quiz:\n      entrypoint: quiz.py\n      domain: knowledge\n")
    rows = [
        {
            "responses_create_params": {"input": f"{i}+{i}?"},
            "expected_answer": str(2 * i),
            "reference_solution": {"answer": str(2 * i)},
        }
        for i in range(4)
    ]
    data = tmp_path / "quiz.jsonl"
    write_lines(data, rows)
    out = tmp_path / "quiz_out.jsonl"
    collect(data, out, configs=[str(config)])
    stats, redone = reverify(out, configs=[str(config)])
    assert stats.stateless == 4 and stats.replayed == 0
    assert all(r["reverified_by"] == "stateless" and r["reward"] == 1.0 for r in redone)
    forced, redone = reverify(out, configs=[str(config)], replay=True)
    assert forced.replayed == 4 and all(r["reward"] == 1.0 for r in redone)


def test_no_replay_on_a_stateful_verify_fails_each_line_with_the_fix(tmp_path: Path) -> None:
    out = tmp_path / "counter.jsonl"
    collect(COUNTER_DATA, out, configs=[COUNTER_CONFIG], limit=2)
    stats, redone = reverify(out, configs=[COUNTER_CONFIG], replay=False)
    assert stats.failed == 2
    assert all("drop --no-replay" in r["failure"]["error"] for r in redone)


def test_the_reverify_help_example_works_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    doc = reverify_command.__doc__ or ""
    example = next(line.strip() for line in doc.splitlines() if line.strip().startswith("Example: gymhall reverify"))
    argv = shlex.split(example.removeprefix("Example: gymhall "))
    stored = Path(argv[1])
    collected = CliRunner().invoke(app, ["collect", "-i", str(COUNTER_DATA), "-o", str(stored), "-c", COUNTER_CONFIG])
    assert collected.exit_code == 0, collected.output
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert "reverified 12 rollouts (0 failed); 0 rewards changed" in result.output
    assert all(r["status"] == "ok" for r in read_lines(stored.with_name(stored.stem + "_reverified.jsonl")))
