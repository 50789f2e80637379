"""TRL's `GRPOTrainer` trained through a gymhall environment, with TRL's own `rollout_func` hook.

    rollouts = GymhallRollouts(Agent(resources_client(env="counter"), policy_model))
    trainer = GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        reward_funcs=rollouts.reward,
        rollout_func=rollouts,
        train_dataset=grpo_dataset(rows),
        args=GRPOConfig(num_generations=8, ...),
    )

For each prompt TRL hands it (a dataset row, repeated `num_generations` times in a row), the rollout
function plays one gymhall rollout: seed, model calls, tools, verify, close. `policy_model` must return
token ids (e.g. `ChatCompletionsModel(..., base_url=<trl vllm-serve>/v1, return_token_ids=True)`: TRL's
server is vLLM's, and TRL syncs the trained weights into it before each `rollout_func` call). Each line
becomes a `TrainingSample` (`gymhall.training.samples`) and TRL gets its fields: `prompt_ids`,
`completion_ids`, `logprobs`, `env_mask` (TRL's name for the loss mask: 1 on generated tokens, 0 on
tool outputs) and `gymhall_reward`, the verify answer's reward, which `reward` hands back to TRL.

A rollout that failed or must not be learned from (`mask_sample`) gets reward None, which TRL treats
as unscorable: left out of its group's baseline, advantage 0; its `env_mask` is all zeros too, so it
adds nothing to the loss whichever way a TRL version reads it. Its tokens, when it has none, are one
end-of-sequence token (TRL needs a non-empty completion).

This module imports neither trl nor torch: TRL calls it with plain lists and reads plain lists back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gymhall.collection.agent import Agent
from gymhall.collection.pool import rollouts
from gymhall.training.samples import TrainingSample, rollout_sample
from gymhall.wire.lines import ROLLOUT_KEY, TASK_KEY, line_key

__all__ = ["GymhallRollouts", "grpo_dataset", "trl_fields"]

REWARD_FIELD = "gymhall_reward"
"""The extra field the rollout function returns and `GymhallRollouts.reward` reads: one reward or None each."""


def grpo_dataset(rows: Iterable[Mapping[str, Any]]) -> Any:
    """A `datasets.Dataset` for `GRPOTrainer`: one `prompt` per gymhall row, the row as JSON.

    Each row gets its `_ng_task_index` (its position, unless it has one), so rollouts of one row form
    one GRPO group and its lines keep NeMo Gym's keys.
    """
    from datasets import Dataset  # type: ignore[import-untyped,import-not-found,unused-ignore]  # TRL's dependency, untyped; only here

    prompts = []
    for index, row in enumerate(rows):
        prompts.append({"prompt": json.dumps({**row, TASK_KEY: int(row.get(TASK_KEY, index))})})
    return Dataset.from_list(prompts)


def trl_fields(samples: Sequence[TrainingSample], *, placeholder_id: int) -> dict[str, list[Any]]:
    """What TRL's `rollout_func` returns, from samples in prompt order.

    `placeholder_id` (the tokenizer's end-of-sequence id) stands in for the prompt and the completion of a
    masked sample that has no tokens. A masked sample's `env_mask` is all zeros and its reward None.
    """
    fields: dict[str, list[Any]] = {"prompt_ids": [], "completion_ids": [], "logprobs": [], "env_mask": []}
    fields[REWARD_FIELD] = []
    for sample in samples:
        prompt = sample.prompt_ids or [placeholder_id]
        completion = sample.completion_ids or [placeholder_id]
        logprobs = sample.logprobs if sample.completion_ids else [0.0]
        mask = [0] * len(completion) if sample.mask_sample else sample.loss_mask
        fields["prompt_ids"].append(prompt)
        fields["completion_ids"].append(completion)
        fields["logprobs"].append(logprobs)
        fields["env_mask"].append(mask)
        fields[REWARD_FIELD].append(None if sample.mask_sample else sample.reward)
    return fields


class GymhallRollouts:
    """A TRL `rollout_func` that plays each prompt as a gymhall rollout; `reward` is its reward function.

    Args:
        agent: runs one rollout per row; its model must return token ids.
        concurrency: rollouts in flight at once.
        max_attempts: tries per rollout for failures that may pass on retry (`gymhall.rollouts`).
        row_timeout_s: each rollout's whole budget, retries included; None for the agent's own.

    The rollouts run on an event loop this object owns (TRL calls it synchronously), so the agent's
    connections stay on one loop across steps; `close()` ends it. `last_lines` and `last_samples` hold
    the latest call's lines and samples, in prompt order, for logging.
    """

    def __init__(
        self, agent: Agent, *, concurrency: int = 64, max_attempts: int = 3, row_timeout_s: float | None = None
    ) -> None:
        self.agent = agent
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.row_timeout_s = row_timeout_s
        self.last_lines: list[dict[str, Any]] = []
        self.last_samples: list[TrainingSample] = []
        self._loop = asyncio.new_event_loop()

    def __call__(self, prompts: Sequence[Any], trainer: Any) -> dict[str, list[Any]]:
        """Play one rollout per prompt (a `grpo_dataset` row) and return TRL's fields, in prompt order."""
        rows = _rows(prompts)
        lines = self._loop.run_until_complete(self._collect(rows))
        by_key = {line_key(line): line for line in lines}
        self.last_lines = [by_key[line_key(row)] for row in rows]
        self.last_samples = [rollout_sample(line) for line in self.last_lines]
        eos = getattr(getattr(trainer, "processing_class", None), "eos_token_id", None)
        return trl_fields(self.last_samples, placeholder_id=int(eos) if eos is not None else 0)

    def reward(self, prompts: Any = None, completions: Any = None, **kwargs: Any) -> list[float | None]:
        """TRL's reward function: the verify rewards the rollout function returned (None for masked rollouts)."""
        rewards = kwargs.get(REWARD_FIELD)
        if not isinstance(rewards, list):
            raise ValueError(
                f"GymhallRollouts.reward reads the {REWARD_FIELD!r} field its rollout function returns: pass the same "
                "GymhallRollouts object as GRPOTrainer's rollout_func and reward_funcs"
            )
        return [None if r is None else float(r) for r in rewards]

    def close(self) -> None:
        """Close the agent's resources client and the event loop."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.agent.resources.aclose())
            self._loop.close()

    async def _collect(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        stream = rollouts(
            rows,
            self.agent.run,
            concurrency=self.concurrency,
            max_attempts=self.max_attempts,
            row_timeout_s=self.row_timeout_s,
        )
        return [line async for line in stream]


def _rows(prompts: Sequence[Any]) -> list[dict[str, Any]]:
    """The gymhall rows of TRL's prompts; repeats of one row get rollout indices 0, 1, ..."""
    rows: list[dict[str, Any]] = []
    repeats: dict[int, int] = {}
    for position, prompt in enumerate(prompts):
        row = json.loads(prompt) if isinstance(prompt, str) else prompt
        if not isinstance(row, dict):
            raise ValueError(
                f"prompt {position} is not a gymhall row (a JSON object): build the dataset with grpo_dataset(rows)"
            )
        task = int(row.get(TASK_KEY, position))
        rollout = repeats.get(task, 0)
        repeats[task] = rollout + 1
        rows.append({**row, TASK_KEY: task, ROLLOUT_KEY: rollout})
    return rows
