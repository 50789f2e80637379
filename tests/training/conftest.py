"""A real tokenizer, trained here (no download): byte-level BPE with ChatML's two special tokens."""

from collections.abc import Iterator

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIAL_TOKENS = ["<pad>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "<|im_start|>user\nA counter starts at 3. Use the increment tool to add 2. Then reply with the value.<|im_end|>",
    '<|im_start|>assistant\n<think>add one</think><tool_call>increment {"by":1}</tool_call><|im_end|>',
    '<|im_start|>tool\n{"value":4}<|im_end|>\n<|im_start|>assistant\n5<|im_end|>',
    "the counter value is 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
]


def train_tokenizer(vocab_size: int = 320) -> Tokenizer:
    """A byte-level BPE tokenizer trained on a few counter conversations: any text encodes."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 20, trainer)
    return tokenizer


@pytest.fixture(scope="session")
def tokenizer() -> Iterator[Tokenizer]:
    yield train_tokenizer()
