"""gymhall.collection.forks: seed once, fork N, and the fall-backs (retries, servers that cannot fork)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from gymhall import Agent, BaseSeedSessionRequest, BaseVerifyRequest, Environment, ReplayModel, expand_rows, tool
from gymhall.cli.main import app
from gymhall.collection.forks import SessionForks
from gymhall.collection.pool import rollouts
from gymhall.testing import client_for

ROOT = Path(__file__).resolve().parents[2]
COUNTER_DATA = ROOT / "examples" / "counter" / "data" / "example.jsonl"
COUNTER_CONFIG = str(ROOT / "examples" / "counter" / "configs" / "counter.yaml")


class Row(BaseSeedSessionRequest):
    start: int


@dataclass
class Tally:
    value: int


class CountingSeeds(Environment):
    """A counter that counts its seedings (the costly part forking saves)."""

    def __init__(self) -> None:
        super().__init__()
        self.seeds: Counter[int] = Counter()

    async def seed_session(self, row: Row) -> Tally:
        self.seeds[row.start] += 1
        return Tally(row.start)

    @tool
    async def add(self, state: Tally, by: int) -> int:
        """Add `by` to the tally."""
        state.value += by
        return state.value

    async def verify(self, state: Tally, body: BaseVerifyRequest) -> float:
        return float(body.response.output_text == str(state.value))


class CannotFork(CountingSeeds):
    async def fork(self, state: Tally) -> Tally:
        from gymhall.exceptions import ForkUnsupported

        raise ForkUnsupported("this environment never forks")


ADD_THREE = {"name": "add", "arguments": {"by": 3}}


def rows(tasks: int) -> list[dict[str, Any]]:
    return [
        {
            "responses_create_params": {"input": "Add 3, then say the tally."},
            "start": 10 * task,
            "reference_solution": {"tool_calls": [ADD_THREE], "answer": str(10 * task + 3)},
        }
        for task in range(tasks)
    ]


async def play(env: CountingSeeds, expanded: list[dict[str, Any]], *, concurrency: int = 8) -> tuple[Any, list[Any]]:
    async with client_for(env) as client:
        forks = SessionForks(client)
        forks.expect(expanded)
        agent = Agent(client, ReplayModel(), forks=forks)
        lines = [line async for line in rollouts(expanded, agent.run, concurrency=concurrency)]
    return forks, lines


async def test_each_task_is_seeded_once_and_every_repeat_plays_its_own_fork() -> None:
    env = CountingSeeds()
    forks, lines = await play(env, expand_rows(rows(3), repeats=4))
    assert [line["status"] for line in lines] == ["ok"] * 12
    # Every repeat added 3 to its own copy: had two shared one, a tally would read start + 6.
    assert all(line["reward"] == 1.0 for line in lines)
    assert env.seeds == {0: 1, 10: 1, 20: 1}
    assert (forks.seeded, forks.forked) == (3, 12)


async def test_a_task_with_one_rollout_left_is_seeded_not_forked() -> None:
    env = CountingSeeds()
    forks, lines = await play(env, expand_rows(rows(2), repeats=1))
    assert env.seeds == {0: 1, 10: 1} and (forks.seeded, forks.forked) == (2, 0)
    assert all(line["reward"] == 1.0 for line in lines)


async def test_a_server_that_cannot_fork_is_seeded_per_rollout_after_one_try() -> None:
    env = CannotFork()
    forks, lines = await play(env, expand_rows(rows(3), repeats=4), concurrency=1)
    assert all(line["status"] == "ok" and line["reward"] == 1.0 for line in lines)
    # One parent seeded for the first task's group (its fork refused), then every rollout seeded afresh.
    assert forks.forked == 0 and sum(env.seeds.values()) == 1 + 12


async def test_a_rollout_asking_again_after_its_group_is_handed_out_is_seeded_afresh() -> None:
    env = CountingSeeds()
    expanded = expand_rows(rows(1), repeats=2)
    async with client_for(env) as client:
        forks = SessionForks(client)
        forks.expect(expanded)
        first, second = [await forks.seed_session(row) for row in expanded]
        again = await forks.seed_session(expanded[0])  # a retry of rollout 0
        assert len({first.handle, second.handle, again.handle}) == 3
    assert env.seeds == {0: 2} and (forks.seeded, forks.forked) == (2, 2)


def test_collect_fork_over_the_counter_example_and_a_resume_forks_only_what_is_left(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    args = ["collect", "-i", str(COUNTER_DATA), "-o", str(out), "-c", COUNTER_CONFIG, "--repeats", "3", "--fork"]
    assert CliRunner().invoke(app, [*args, "--limit", "2"]).exit_code == 0
    resumed = CliRunner().invoke(app, [*args, "--limit", "4", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    keys = [(line["_ng_task_index"], line["_ng_rollout_index"]) for line in lines]
    assert sorted(keys) == [(task, rollout) for task in range(4) for rollout in range(3)]
    assert all(line["status"] == "ok" and line["reward"] == 1.0 for line in lines)
