"""Verifiable instructions (IFEval style): one small checker class per instruction id.

Each checker is a frozen pydantic model whose fields are the instruction's kwargs, so a row's
kwargs are validated (types, ranges, unknown keys) with one clear error. `check(text)` is a pure
function of the response text; `describe()` is the sentence a prompt uses to ask for it.

Ids and kwargs follow IFEval and its IFEvalG extension as NeMo Gym's instruction_following
server reads them (`instruction_id_list`, `kwargs`). Where the original counts with NLTK's models
(sentences, word tokens) or detects the language, the pure-Python stand-ins here are documented
on the checker and in the README.

`base.py` defines the `Instruction` interface, `text.py` the text measures, one module per family
of ids holds its checkers (`keywords`, `length`, `content`, `formats`, `start_end`, `case`,
`punctuation`), and `registry.py` lists them all by id.
"""

from __future__ import annotations

from gymhall.envs.instruction_following.instructions.base import Instruction, InstructionError
from gymhall.envs.instruction_following.instructions.registry import INSTRUCTIONS, build_instruction
from gymhall.envs.instruction_following.instructions.text import (
    count_words,
    loose_variants,
    split_sentences,
    word_tokens,
)

__all__ = [
    "INSTRUCTIONS",
    "Instruction",
    "InstructionError",
    "build_instruction",
    "count_words",
    "loose_variants",
    "split_sentences",
    "word_tokens",
]
