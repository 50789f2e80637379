"""The model interface every backend implements, and what a call carries.

A `Model` answers one Responses API request with one `Response`. The agent passes the rollout's
row (the replay model reads its reference solution), a key that keeps one rollout on one backend
replica, and the rollout's deadline, which bounds the call together with the model's own timeout.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gymhall.wire.responses import Response

__all__ = ["Model", "ModelRequest", "remaining"]


@dataclass(frozen=True)
class ModelRequest:
    """One model call: Responses create params plus the rollout context."""

    params: Mapping[str, Any]  # Responses API create params: input (a list of items), tools, sampling...
    row: Mapping[str, Any] = field(default_factory=dict)  # the dataset row of the rollout
    session_key: str = ""  # stable per rollout: several base URLs are chosen by its hash
    deadline: float | None = None  # time.monotonic() by which the rollout must end


def remaining(deadline: float | None, default: float) -> float:
    """Seconds left before `deadline`, at most `default`; raises TimeoutError when none are left."""
    if deadline is None:
        return default
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the rollout's deadline passed before the call")
    return min(left, default)


class Model(ABC):
    """A policy (or judge) model reachable through the Responses API."""

    name: str = "model"

    @abstractmethod
    async def respond(self, request: ModelRequest) -> Response:
        """Answer one request; raise `ModelError` (from `gymhall.exceptions`) when the backend fails."""

    async def respond_data(self, request: ModelRequest) -> dict[str, Any]:
        """The answer as the agent uses it: `respond`'s Response dumped in JSON mode, unset fields left out.

        Override it only where the dump can be built without validating, from data trusted code made
        (the fake model); an answer that crossed the network must go through `respond`'s validation.
        """
        response = await self.respond(request)
        return response.model_dump(mode="json", exclude_unset=True)

    async def preflight(self, *, key_source: str = "OPENAI_API_KEY", timeout_s: float = 5.0) -> None:  # noqa: B027
        """Check once, before the first call, that the backend can answer; raise `ConfigError` naming the fix.

        A no-op for models in this process; HTTP backends check their key and that their URLs answer.
        `key_source` says where the key is set (an environment variable, an ``env.yaml`` or config key).
        """

    async def aclose(self) -> None:  # noqa: B027 - a no-op by default: most models hold nothing to release
        """Release connections."""

    async def __aenter__(self) -> Model:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
