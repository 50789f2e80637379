"""The replay model: plays back a row's reference solution, for offline runs and environment checks.

A row carries its solution as::

    "reference_solution": {
        "tool_calls": [{"name": "increment", "arguments": {"by": 1}}, ...],
        "answer": "3"
    }

Each model call returns the next tool call (an entry may also be a list: calls made in one turn),
then the answer as the final message. Where the episode stands is read from the request's input,
so one `ReplayModel` serves any number of rollouts at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from gymhall.exceptions import ModelError
from gymhall.models.base import Model, ModelRequest
from gymhall.wire.responses import Response

__all__ = ["REFERENCE_KEY", "ReplayModel"]

REFERENCE_KEY = "reference_solution"

_ids = itertools.count()


def _turns(solution: Mapping[str, Any]) -> list[list[Mapping[str, Any]]]:
    turns = []
    for entry in solution.get("tool_calls") or []:
        turns.append(list(entry) if isinstance(entry, Sequence) and not isinstance(entry, Mapping) else [entry])
    return turns


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value or {}).decode()


class ReplayModel(Model):
    """Answers each call with the next step of the row's `reference_solution`."""

    name = "replay"

    async def respond(self, request: ModelRequest) -> Response:
        solution = request.row.get(REFERENCE_KEY)
        if not isinstance(solution, Mapping):
            raise ModelError(
                f"The replay model needs a {REFERENCE_KEY!r} object in the row (tool_calls and answer); "
                "this row has none. Add one, or use a real model.",
                retryable=False,
            )
        turns = _turns(solution)
        made = sum(1 for item in request.params.get("input", ()) if _type(item) == "function_call")
        done, output = 0, []
        for turn in turns:
            if done == made:
                output = [self._call(call) for call in turn]
                break
            done += len(turn)
        else:
            output = [self._message(str(solution.get("answer", "")))]
        return Response.model_validate(
            {
                "id": f"resp_replay_{next(_ids)}",
                "object": "response",
                "created_at": 0,
                "model": self.name,
                "status": "completed",
                "output": output,
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
            }
        )

    @staticmethod
    def _call(call: Mapping[str, Any]) -> dict[str, Any]:
        number = next(_ids)
        return {
            "type": "function_call",
            "id": f"fc_replay_{number}",
            "call_id": f"call_replay_{number}",
            "name": str(call.get("name", "")),
            "arguments": _arguments(call.get("arguments")),
            "status": "completed",
        }

    @staticmethod
    def _message(text: str) -> dict[str, Any]:
        return {
            "type": "message",
            "id": f"msg_replay_{next(_ids)}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }


def _type(item: Any) -> Any:
    return item.get("type") if isinstance(item, Mapping) else getattr(item, "type", None)
