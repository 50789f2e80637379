"""Samples padded into a batch: prompts left, completions right, masked samples in the batch but out of the loss."""

from gymhall import TrainingSample, pad_batch


def sample(prompt: list[int], completion: list[int], mask: list[int], *, masked: bool = False) -> TrainingSample:
    logprobs = [-0.5 if bit else 0.0 for bit in mask]
    return TrainingSample(0, 0, 7, prompt, completion, mask, logprobs, 1.0, mask_sample=masked)


def test_pad_batch_aligns_prompts_left_completions_right_and_zeroes_masked_samples() -> None:
    batch = pad_batch([sample([1, 2, 3], [4, 5], [1, 0]), sample([6], [7, 8, 9], [1, 1, 1], masked=True)], pad_id=0)
    assert batch.prompt_ids == [[1, 2, 3], [0, 0, 6]]
    assert batch.prompt_attention == [[1, 1, 1], [0, 0, 1]]
    assert batch.completion_ids == [[4, 5, 0], [7, 8, 9]]
    assert batch.completion_attention == [[1, 1, 0], [1, 1, 1]]
    assert batch.loss_mask == [[1, 0, 0], [0, 0, 0]]
    assert batch.logprobs == [[-0.5, 0.0, 0.0], [-0.5, -0.5, -0.5]]
    assert batch.rewards == [1.0, 1.0]
    assert batch.group_ids == [7, 7]
    assert batch.sample_mask == [1, 0]


def test_an_empty_list_is_an_empty_batch() -> None:
    assert pad_batch([], pad_id=0).prompt_ids == []
