"""The interface every verifiable instruction implements, and the types their kwargs share."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Count", "Instruction", "InstructionError", "Relation", "Word", "compare"]

Relation = Literal["less than", "at least"]
Word = Annotated[str, Field(min_length=1)]
Count = Annotated[int, Field(ge=0)]


class InstructionError(ValueError):
    """An instruction id is unknown or its kwargs are invalid; the message names which and why."""


class Instruction(BaseModel):
    """One verifiable instruction; its fields are the instruction's kwargs.

    A subclass sets `instruction_id` and is listed in `registry.py`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    instruction_id: ClassVar[str]

    def check(self, text: str) -> bool:
        """Whether `text` follows the instruction."""
        raise NotImplementedError

    def describe(self) -> str:
        """The instruction as a prompt states it."""
        raise NotImplementedError


def compare(actual: int, relation: Relation, threshold: int) -> bool:
    """Whether `actual` is `relation` ("less than" or "at least") `threshold`."""
    return actual < threshold if relation == "less than" else actual >= threshold
