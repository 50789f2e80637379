"""What a trainer (TRL, NeMo RL, VeRL) calls: rows in, rollouts out as they finish.

`gymhall.rollouts` runs each row through an `Agent` (seed, model, tools, verify, close) at bounded
concurrency and yields each rollout's line when it is done: `status: "ok"` with its `reward`, or
`status: "failed"` with a typed `failure` and no reward, which a trainer masks out instead of
learning from a fabricated 0. Here the environment runs in this process and the replay model
plays each row's reference solution; swap in `model_from_spec("http://host:8000/v1#my-policy")`
for a real policy server.

    python examples/trainer/rollouts_for_training.py
"""

import asyncio
import json
from pathlib import Path

from gymhall import Agent, ReplayModel, expand_rows, resources_client, rollouts

HERE = Path(__file__).resolve().parent
COUNTER = HERE.parent / "counter"


async def main() -> None:
    rows = [json.loads(line) for line in (COUNTER / "data" / "example.jsonl").read_text().splitlines()]
    agent = Agent(resources_client(configs=[str(COUNTER / "configs" / "counter.yaml")]), ReplayModel())
    rewards: dict[int, list[float]] = {}
    async for line in rollouts(expand_rows(rows, repeats=2), agent.run, concurrency=8):
        if line["status"] != "ok":
            print("masked:", line["failure"]["stage"], line["failure"]["error"])
            continue
        rewards.setdefault(line["_ng_task_index"], []).append(line["reward"])
    for task, values in sorted(rewards.items()):
        print(f"task {task}: rewards {values}")
    await agent.resources.aclose()


if __name__ == "__main__":
    asyncio.run(main())
