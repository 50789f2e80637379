"""Rollout lines into training samples: one per line, masked (never dropped) when it cannot be learned from.

    samples = rollout_samples(read_rollouts("rollouts.jsonl"))
    batch = pad_batch([s for s in samples if not s.mask_sample], pad_id=tokenizer.pad_token_id)

A line is read in the shapes gymhall and NeMo Gym write: `status: "ok"` or `"failed"` (gymhall),
`mask_sample` / `failure_kind` / `failure_reason` (NeMo Gym 0.7), `_ng_failure_class` (0.4), and the
model calls' token ids on `response.output` (`gymhall.training.trajectories`). A sample is masked when
its rollout failed, its verify answer says the reward is not a measurement, it has no numeric reward,
or its tokens cannot be joined into one exact sequence; `failure_kind` and `failure_reason` say which.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gymhall.training.trajectories import TokenProblem, token_trajectory
from gymhall.wire.lines import FAILURE_KIND_KEY, FAILURE_REASON_KEY, line_key, reported_failure
from gymhall.wire.lines import failure_kind as stage_failure_kind

__all__ = ["NO_REWARD", "TrainingSample", "rollout_sample", "rollout_samples"]

NO_REWARD = "gymhall:no_reward"
"""An ok line whose `reward` is missing or not a finite number."""

_REWARD_COMPONENTS = "reward_components"  # NeMo Gym's BaseMultiRewardVerifyResponse


@dataclass(frozen=True, slots=True)
class TrainingSample:
    """One rollout as a trainer consumes it.

    Attributes:
        task_index: the line's `_ng_task_index`: which dataset row.
        rollout_index: the line's `_ng_rollout_index`: which repeat of that row.
        group_id: the GRPO group: rollouts of the same task share it (it is the task index), so
            advantages are computed among the repeats of one prompt.
        prompt_ids: the first model call's prompt tokens ([] when the line has none).
        completion_ids: every token after the first prompt, across all turns ([] when none).
        loss_mask: one per completion token: 1 on model-generated tokens, 0 on tool outputs and the
            prompt pieces the template adds between turns. All 0 on a masked sample.
        logprobs: one per completion token: the sampling log-prob of generated tokens, 0.0 elsewhere.
        reward: the verify answer's `reward`; 0.0 on a masked sample (read `mask_sample`, not this).
        reward_components: the verify answer's `reward_components` (NeMo Gym's multi-reward answer), or {}.
        num_turns: the model calls joined into the sequence.
        generation_starts: per model call, where its generated tokens begin in `prompt_ids + completion_ids`.
        mask_sample: true when the sample must contribute nothing to the loss (NeMo Gym 0.7's name).
        failure_kind: why it is masked: the line's own `failure_kind` (a failed rollout, an invalid
            reward) or a `gymhall:` token kind (`gymhall:token_drift`, ...); None when not masked.
        failure_reason: the human-readable why, naming the turn for token problems; None when not masked.
    """

    task_index: int
    rollout_index: int
    group_id: int
    prompt_ids: list[int]
    completion_ids: list[int]
    loss_mask: list[int]
    logprobs: list[float]
    reward: float
    reward_components: dict[str, float] = field(default_factory=dict)
    num_turns: int = 0
    generation_starts: list[int] = field(default_factory=list)
    mask_sample: bool = False
    failure_kind: str | None = None
    failure_reason: str | None = None


def _line_failure(line: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (kind, reason) of a line whose reward is not to be learned from, else None."""
    if line.get("status") == "failed":
        raw = line.get("failure")
        failure: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        kind = line.get(FAILURE_KIND_KEY) or failure.get("kind") or stage_failure_kind(str(failure.get("stage")))
        reason = line.get(FAILURE_REASON_KEY) or failure.get("error") or "the rollout failed"
        return str(kind), str(reason)
    reported = reported_failure(line)
    if reported is not None:
        return reported.kind or stage_failure_kind(reported.stage), reported.error
    return None


def _reward(line: Mapping[str, Any]) -> float | None:
    value = line.get("reward")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _components(line: Mapping[str, Any]) -> dict[str, float]:
    raw = line.get(_REWARD_COMPONENTS)
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): float(v) for k, v in raw.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _output_items(line: Mapping[str, Any]) -> list[Any]:
    response = line.get("response")
    output = response.get("output") if isinstance(response, Mapping) else None
    return output if isinstance(output, list) else []


def rollout_sample(line: Mapping[str, Any]) -> TrainingSample:
    """The training sample of one rollout line; masked, with the reason, when it cannot be learned from.

    The tokens are rebuilt even for a failed line when its partial response has them (useful to log),
    but a masked sample's `loss_mask` is all zeros, so padding it into a batch adds nothing to the loss.
    """
    task, rollout = line_key(line)
    trajectory = token_trajectory(_output_items(line))
    problem: tuple[str, str] | None = _line_failure(line)
    reward = _reward(line)
    if problem is None and reward is None:
        problem = (NO_REWARD, f"the line has status ok but its reward is {line.get('reward')!r}, not a number")
    if problem is None and isinstance(trajectory, TokenProblem):
        problem = (trajectory.kind, trajectory.reason)
    if isinstance(trajectory, TokenProblem):
        prompt, completion, mask, logprobs, starts = [], [], [], [], []
    else:
        prompt, completion, mask = trajectory.prompt_ids, trajectory.completion_ids, trajectory.loss_mask
        logprobs, starts = trajectory.logprobs, trajectory.generation_starts
    if problem is not None:
        mask = [0] * len(completion)
    return TrainingSample(
        task_index=task,
        rollout_index=rollout,
        group_id=task,
        prompt_ids=prompt,
        completion_ids=completion,
        loss_mask=mask,
        logprobs=logprobs,
        reward=0.0 if problem is not None or reward is None else reward,
        reward_components=_components(line),
        num_turns=len(starts),
        generation_starts=starts,
        mask_sample=problem is not None,
        failure_kind=None if problem is None else problem[0],
        failure_reason=None if problem is None else problem[1],
    )


def rollout_samples(lines: Iterable[Mapping[str, Any]]) -> list[TrainingSample]:
    """One sample per line, in (task, rollout) order, so that each GRPO group's samples are adjacent."""
    samples = [rollout_sample(line) for line in lines]
    return sorted(samples, key=lambda s: (s.task_index, s.rollout_index))
