"""Bodies of the resources-server wire contract (NeMo Gym compatible).

Subclass these to declare task fields: `class MyVerifyRequest(BaseVerifyRequest): expected_answer: str`.
Unlike NeMo Gym, fields a subclass does not declare are kept rather than silently dropped, so a
verify response echoes the whole dataset row.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue

from gymhall.wire.responses import Response, ResponseCreateParams

M = TypeVar("M", bound=BaseModel)


class _LazyJsonSchema:
    """Documents a shared field with its model's JSON schema, computed only when a schema is asked for."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(self.model.__pydantic_core_schema__)


def _shared(model: type[M]) -> Any:
    """`model` as a field that reuses the model's own validator instead of inlining a copy.

    The Responses types are large; inlined, every request/response class below would carry its
    own copy of their validators (about 5 MB in every server process).
    """

    def validate(value: Any) -> M:
        return value if isinstance(value, model) else model.model_validate(value)

    def serialize(value: M) -> dict[str, Any]:
        return value.model_dump(mode="json", exclude_unset=True)

    return Annotated[
        Any,
        PlainValidator(validate),
        PlainSerializer(serialize, return_type=dict[str, Any]),
        _LazyJsonSchema(model),
    ]


if TYPE_CHECKING:
    ResponseField: TypeAlias = Response
    ResponseCreateParamsField: TypeAlias = ResponseCreateParams
else:
    ResponseField = _shared(Response)
    ResponseCreateParamsField = _shared(ResponseCreateParams)

__all__ = [
    "AggregateMetricsRequest",
    "AggregateMetricsResponse",
    "BaseMultiRewardVerifyResponse",
    "BaseRunRequest",
    "BaseSeedSessionRequest",
    "BaseSeedSessionResponse",
    "BaseVerifyRequest",
    "BaseVerifyResponse",
    "CloseSessionRequest",
    "CloseSessionResponse",
    "ForkSessionRequest",
    "ForkSessionResponse",
]


class BaseRunRequest(BaseModel):
    """A dataset row: `responses_create_params` plus any task fields."""

    model_config = ConfigDict(extra="allow")

    responses_create_params: ResponseCreateParamsField


class BaseSeedSessionRequest(BaseModel):
    """Body of `POST /seed_session`: the dataset row; subclass to declare the fields seeding reads."""

    model_config = ConfigDict(extra="allow")


class BaseSeedSessionResponse(BaseModel):
    """Body answered by `POST /seed_session`; gymhall adds the signed `session` handle to it."""

    model_config = ConfigDict(extra="allow")


class BaseVerifyRequest(BaseRunRequest):
    """Body of `POST /verify`: the row, its `responses_create_params` and the episode's `response`."""

    response: ResponseField


class BaseVerifyResponse(BaseVerifyRequest):
    """Answer of `POST /verify`: the request echoed plus `reward` in [0, 1]; extra numeric fields are metrics.

    NeMo Gym 0.7's outcome fields: `mask_sample` true says the reward is not a valid measurement (an
    environment fault), with `failure_kind` and `failure_reason`; gymhall's agent records such an answer
    as a failed line, never as a reward.
    """

    reward: float = Field(ge=0.0, le=1.0)
    mask_sample: bool = False
    failure_kind: str | None = None
    failure_reason: str | None = None


class BaseMultiRewardVerifyResponse(BaseVerifyResponse):
    """A verify answer with named reward components; `reward` is still the scalar used for training."""

    reward_components: dict[str, float]


class CloseSessionRequest(BaseModel):
    """Body of `POST /close_session`, optional: gymhall closes the session of the handle (cookie or header).

    NeMo Gym 0.7's Environment Servers send `{resources_session_id, episode_id}`; both are accepted.
    """

    model_config = ConfigDict(extra="allow")

    resources_session_id: str | None = None
    episode_id: dict[str, Any] | None = None


class CloseSessionResponse(BaseModel):
    """Answer of `POST /close_session`; closing twice is not an error. NeMo Gym 0.7's `resources_session_id`
    is echoed when the request sent one."""

    closed: bool
    resources_session_id: str | None = None


MAX_FORKS = 256
"""The most sessions one `POST /fork_session` makes (a GRPO group is 4 to 64)."""


class ForkSessionRequest(BaseModel):
    """Body of `POST /fork_session` (gymhall's extension): how many copies of the session to make."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=1, le=MAX_FORKS, description="How many independent copies of the session's state to make.")


class ForkSessionResponse(BaseModel):
    """Answer of `POST /fork_session`: the handle of each new session, in order."""

    sessions: list[str]


class AggregateMetricsRequest(BaseModel):
    """Body of `POST /aggregate_metrics`: verify responses (heavy fields may be stripped).

    Every number must be finite: `NaN`, `Infinity` and numbers past a float's range (`1e400`), which
    strict JSON does not allow, are refused naming the field, never dropped from the metrics silently.
    """

    model_config = ConfigDict(extra="allow")

    verify_responses: list[dict[str, Any]]

    @field_validator("verify_responses")
    @classmethod
    def _check_finite(cls, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, row in enumerate(rows):
            where = _non_finite(row)
            if where is not None:
                path, value = where
                raise ValueError(
                    f"verify_responses[{index}]{path} is {value!r}: metrics must be finite numbers "
                    "(NaN, Infinity and numbers past 1.8e308 are not JSON). Send a finite value or leave the field out"
                )
        return rows


class AggregateMetricsResponse(BaseModel):
    """Answer of `POST /aggregate_metrics`, in NeMo Gym's shape."""

    model_config = ConfigDict(extra="allow")

    agent_metrics: dict[str, Any]
    key_metrics: dict[str, Any]
    group_level_metrics: list[dict[str, Any]]


def _non_finite(value: Any) -> tuple[str, float] | None:
    """Where in `value` (as `["key"][0]...`) the first NaN or infinite float is, and that float; else None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else ("", value)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _non_finite(item)
        if found is not None:
            shown = repr(key) if len(str(key)) <= 80 else repr(f"{str(key)[:80]}...")
            return f"[{shown}]{found[0]}", found[1]
    return None
