"""Bodies of the resources-server wire contract (NeMo Gym compatible).

Subclass these to declare task fields: `class MyVerifyRequest(BaseVerifyRequest): expected_answer: str`.
Unlike NeMo Gym, fields a subclass does not declare are kept rather than silently dropped, so a
verify response echoes the whole dataset row.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gymhall._responses import Response, ResponseCreateParams

__all__ = [
    "AggregateMetricsRequest",
    "AggregateMetricsResponse",
    "BaseMultiRewardVerifyResponse",
    "BaseRunRequest",
    "BaseSeedSessionRequest",
    "BaseSeedSessionResponse",
    "BaseVerifyRequest",
    "BaseVerifyResponse",
    "CloseSessionResponse",
]


class BaseRunRequest(BaseModel):
    """A dataset row: `responses_create_params` plus any task fields."""

    model_config = ConfigDict(extra="allow")

    responses_create_params: ResponseCreateParams


class BaseSeedSessionRequest(BaseModel):
    """Body of `POST /seed_session`: the dataset row; subclass to declare the fields seeding reads."""

    model_config = ConfigDict(extra="allow")


class BaseSeedSessionResponse(BaseModel):
    """Body answered by `POST /seed_session`; gymhall adds the signed `session` handle to it."""

    model_config = ConfigDict(extra="allow")


class BaseVerifyRequest(BaseRunRequest):
    """Body of `POST /verify`: the row, its `responses_create_params` and the episode's `response`."""

    response: Response


class BaseVerifyResponse(BaseVerifyRequest):
    """Answer of `POST /verify`: the request echoed plus `reward` in [0, 1]; extra numeric fields are metrics."""

    reward: float = Field(ge=0.0, le=1.0)


class BaseMultiRewardVerifyResponse(BaseVerifyResponse):
    """A verify answer with named reward components; `reward` is still the scalar used for training."""

    reward_components: dict[str, float]


class CloseSessionResponse(BaseModel):
    """Answer of `POST /close_session`; closing twice is not an error."""

    closed: bool


class AggregateMetricsRequest(BaseModel):
    """Body of `POST /aggregate_metrics`: verify responses (heavy fields may be stripped)."""

    model_config = ConfigDict(extra="allow")

    verify_responses: list[dict[str, Any]]


class AggregateMetricsResponse(BaseModel):
    """Answer of `POST /aggregate_metrics`, in NeMo Gym's shape."""

    model_config = ConfigDict(extra="allow")

    agent_metrics: dict[str, Any]
    key_metrics: dict[str, Any]
    group_level_metrics: list[dict[str, Any]]
