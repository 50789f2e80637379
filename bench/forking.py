"""Seed once, fork N: CPU per rollout of the workplace environment, seeded per rollout vs forked.

Each workplace seeding builds a world and a SQLite database; a fork copies the database with SQLite's
backup API. Both ways run the same rollouts (the replay model plays each row's reference solution,
the environment in-process), alternately, in one process, and the process's CPU time is what is
compared, so the figure holds on a shared, noisy machine.

    python bench/forking.py [--tasks 8] [--repeats 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from gymhall import Agent, ReplayModel, expand_rows, get_env, read_rows, resources_client
from gymhall.collection.forks import SessionForks
from gymhall.collection.pool import rollouts


async def run(rows: list[dict[str, Any]], config: str, *, fork: bool) -> tuple[float, int, int]:
    """CPU seconds for `rows`, the rollouts that scored 1.0, and how many seedings there were."""
    async with resources_client(configs=[config]) as client:
        forks = SessionForks(client) if fork else None
        if forks is not None:
            forks.expect(rows)
        agent = Agent(client, ReplayModel(), forks=forks)
        started = time.process_time()
        lines = [line async for line in rollouts(rows, agent.run, concurrency=16)]
        cpu = time.process_time() - started
    right = sum(1 for line in lines if line.get("reward") == 1.0)
    return cpu, right, forks.seeded if forks is not None else len(rows)


async def main(tasks: int, repeats: int, rounds: int) -> None:
    spec = get_env("workplace")
    data = read_rows(spec.dataset)
    # A spread of the families (rows are grouped by family in the file).
    chosen = data[:: max(1, len(data) // tasks)][:tasks]
    rows = expand_rows(chosen, repeats)
    figures: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for fork in (False, True):
            cpu, right, seeded = await run(rows, str(spec.config), fork=fork)
            assert right == len(rows), f"{len(rows) - right} rollouts did not score 1.0 (fork={fork})"
            figures[fork].append(cpu / len(rows) * 1e3)
            way = "forked" if fork else "seeded"
            print(f"{way}: {cpu / len(rows) * 1e3:6.2f} ms CPU per rollout, {seeded} seedings")
    seeded_ms, forked_ms = (statistics.median(figures[fork]) for fork in (False, True))
    print(
        f"workplace, {tasks} tasks x {repeats} repeats = {len(rows)} rollouts, median of {rounds} rounds: "
        f"seeded {seeded_ms:.2f} ms, forked {forked_ms:.2f} ms CPU per rollout ({forked_ms / seeded_ms:.0%} of seeded)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.tasks, arguments.repeats, arguments.rounds))
