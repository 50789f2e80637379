"""The dataset row fields the workplace environment reads: the world to seed, the ground truth to grade by."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from gymhall import BaseSeedSessionRequest, BaseVerifyRequest

__all__ = ["GroundTruthCall", "WorkplaceRow", "WorkplaceVerifyRequest"]


class WorkplaceRow(BaseSeedSessionRequest):
    """The row fields seeding reads: which world the session starts in."""

    world_seed: int


class GroundTruthCall(BaseModel):
    """One call of a row's ground truth; `arguments` is JSON text (NeMo Gym's form) or an object."""

    name: str
    arguments: str | dict[str, Any]


class WorkplaceVerifyRequest(BaseVerifyRequest):
    """The row fields verify reads, beside the episode's response."""

    world_seed: int
    ground_truth: list[GroundTruthCall]
    expected_answer: str
    # Values of the same kind as the expected answer that are wrong for this task (other contacts'
    # phones, other events' ids...): an answer naming one hedges between candidates and scores 0.
    distractors: list[str] = []
