"""Rollout lines, in gymhall's and NeMo Gym's shapes, into samples: fields, groups, and the failure mask."""

from typing import Any

from gymhall import TrainingSample, rollout_sample, rollout_samples
from gymhall.training.samples import NO_REWARD
from gymhall.training.trajectories import NO_TOKEN_IDS, TOKEN_DRIFT
from gymhall.wire.lines import RolloutFailure, failed_line, ok_line


def call(prompt: list[int], generation: list[int]) -> dict[str, Any]:
    return {
        "type": "function_call",
        "name": "increment",
        "arguments": "{}",
        "call_id": "c",
        "prompt_token_ids": prompt,
        "generation_token_ids": generation,
        "generation_log_probs": [-0.25] * len(generation),
    }


def response(*items: dict[str, Any]) -> dict[str, Any]:
    return {"output": list(items)}


TWO_TURNS = response(
    call([1, 2], [3]), {"type": "function_call_output", "call_id": "c", "output": "5"}, call([1, 2, 3, 9], [4, 5])
)


def row(task: int, rollout: int = 0) -> dict[str, Any]:
    return {"responses_create_params": {"input": "hi"}, "_ng_task_index": task, "_ng_rollout_index": rollout}


def test_an_ok_line_is_a_sample_with_its_reward_components_group_and_loss_mask() -> None:
    verify = {"response": TWO_TURNS, "reward": 0.75, "reward_components": {"format": 1.0, "answer": 0.5}}
    sample = rollout_sample(ok_line(row(4, 2), verify, {}))
    assert sample == TrainingSample(
        task_index=4,
        rollout_index=2,
        group_id=4,
        prompt_ids=[1, 2],
        completion_ids=[3, 9, 4, 5],
        loss_mask=[1, 0, 1, 1],
        logprobs=[-0.25, 0.0, -0.25, -0.25],
        reward=0.75,
        reward_components={"format": 1.0, "answer": 0.5},
        num_turns=2,
        generation_starts=[2, 4],
    )


def test_a_gymhall_failed_line_is_masked_with_its_failure_kind_and_reason_and_its_tokens_kept() -> None:
    failure = RolloutFailure("tool", "increment answered 500: the counter broke", retryable=False)
    sample = rollout_sample(failed_line(row(1), failure, {}, response=TWO_TURNS))
    assert sample.mask_sample
    assert sample.failure_kind == "gymhall:tool_failed"
    assert sample.failure_reason == "increment answered 500: the counter broke"
    assert sample.completion_ids == [3, 9, 4, 5] and sample.loss_mask == [0, 0, 0, 0]
    assert sample.reward == 0.0


def test_nemo_gym_lines_masked_by_07_or_04_fields_are_masked() -> None:
    masked_07 = {**row(0), "response": TWO_TURNS, "reward": 0.0, "mask_sample": True}
    masked_07 |= {"failure_kind": "sandbox:lost_state", "failure_reason": "the sandbox restarted"}
    judge_04 = {**row(1), "response": TWO_TURNS, "reward": 0.0, "_ng_failure_class": "judge_failed"}
    judge_04["_ng_failure_judge_error"] = "judge timed out"
    first, second = rollout_samples([judge_04, masked_07])
    assert (first.failure_kind, first.failure_reason) == ("sandbox:lost_state", "the sandbox restarted")
    assert second.failure_kind == "judge_failed" and second.failure_reason == "judge timed out"
    assert first.mask_sample and second.mask_sample


def test_a_nemo_gym_ok_line_without_outcome_keys_is_learned_from() -> None:
    sample = rollout_sample({**row(2), "response": TWO_TURNS, "reward": 1})
    assert not sample.mask_sample and sample.reward == 1.0 and sample.failure_kind is None


def test_lines_without_token_ids_or_reward_or_with_drift_are_masked_with_the_reason() -> None:
    no_tokens = ok_line(row(0), {"response": response({"type": "message", "role": "assistant"}), "reward": 1.0}, {})
    no_reward = {**row(1), "status": "ok", "response": TWO_TURNS, "reward": None}
    drift = response(call([1, 2], [3]), call([1, 2, 7], [4]))
    drifted = ok_line(row(2), {"response": drift, "reward": 1.0}, {})
    samples = rollout_samples([drifted, no_reward, no_tokens])
    assert [s.failure_kind for s in samples] == [NO_TOKEN_IDS, NO_REWARD, TOKEN_DRIFT]
    assert all(s.mask_sample and s.reward == 0.0 and not any(s.loss_mask) for s in samples)
    assert "model call 2" in (samples[2].failure_reason or "")


def test_samples_come_in_task_then_rollout_order_so_groups_are_adjacent() -> None:
    lines = [
        ok_line(row(t, r), {"response": TWO_TURNS, "reward": 1.0}, {}) for t, r in [(1, 1), (0, 1), (1, 0), (0, 0)]
    ]
    samples = rollout_samples(lines)
    assert [(s.group_id, s.rollout_index) for s in samples] == [(0, 0), (0, 1), (1, 0), (1, 1)]
