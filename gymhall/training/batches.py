"""Training samples padded into one batch of rectangular lists, ready for `torch.tensor`.

    batch = pad_batch(samples, pad_id=tokenizer.pad_token_id)
    completion_ids = torch.tensor(batch.completion_ids)  # each field is one tensor

Prompts are padded on the left and completions on the right, as generation and GRPO trainers lay
them out, so that every prompt ends where its completion starts. Masked samples may be kept (their
`loss_mask` rows are all zeros and `sample_mask` is 0) to keep group sizes fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gymhall.training.samples import TrainingSample

__all__ = ["TrainingBatch", "pad_batch"]


@dataclass(frozen=True, slots=True)
class TrainingBatch:
    """Samples as equal-length rows; every field has one row (or one value) per sample, in order.

    Attributes:
        prompt_ids: prompts, left-padded with `pad_id` to the longest prompt.
        prompt_attention: 1 on prompt tokens, 0 on padding.
        completion_ids: completions, right-padded with `pad_id` to the longest completion.
        completion_attention: 1 on completion tokens (generated or not), 0 on padding.
        loss_mask: 1 on generated tokens of unmasked samples; 0 on tool outputs, template pieces,
            padding, and every token of a masked sample.
        logprobs: the sampling log-probs where `loss_mask` is 1, 0.0 elsewhere.
        rewards: each sample's reward (0.0 on masked samples).
        group_ids: each sample's GRPO group (its task index).
        sample_mask: 1 for a sample to learn from, 0 for a masked one.
    """

    prompt_ids: list[list[int]]
    prompt_attention: list[list[int]]
    completion_ids: list[list[int]]
    completion_attention: list[list[int]]
    loss_mask: list[list[int]]
    logprobs: list[list[float]]
    rewards: list[float]
    group_ids: list[int]
    sample_mask: list[int]


def pad_batch(samples: Sequence[TrainingSample], *, pad_id: int) -> TrainingBatch:
    """Pad `samples` into a `TrainingBatch`; an empty sequence gives an empty batch."""
    prompt_width = max((len(s.prompt_ids) for s in samples), default=0)
    completion_width = max((len(s.completion_ids) for s in samples), default=0)
    batch = TrainingBatch([], [], [], [], [], [], [], [], [])
    for sample in samples:
        left = prompt_width - len(sample.prompt_ids)
        right = completion_width - len(sample.completion_ids)
        keep = 0 if sample.mask_sample else 1
        batch.prompt_ids.append([pad_id] * left + sample.prompt_ids)
        batch.prompt_attention.append([0] * left + [1] * len(sample.prompt_ids))
        batch.completion_ids.append(sample.completion_ids + [pad_id] * right)
        batch.completion_attention.append([1] * len(sample.completion_ids) + [0] * right)
        batch.loss_mask.append([bit * keep for bit in sample.loss_mask] + [0] * right)
        batch.logprobs.append(
            [lp if bit else 0.0 for lp, bit in zip(sample.logprobs, sample.loss_mask, strict=True)] + [0.0] * right
        )
        batch.rewards.append(sample.reward)
        batch.group_ids.append(sample.group_id)
        batch.sample_mask.append(keep)
    return batch
