"""One rollout line as the page shows it: the input, the model's turns and the tools' outputs, the verdict.

A line's `response.output` holds the whole episode: the model's items (reasoning, messages, function
calls) interleaved with `function_call_output` items. Consecutive model items are one model turn; each
output is a tool step. Items of kinds the page does not know are passed through whole, never dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from gymhall.view.index import RolloutEntry
from gymhall.wire.lines import OUTCOME_KEYS, ROLLOUT_KEY, TASK_KEY

__all__ = ["TOKEN_KEYS", "item_view", "trajectory"]

TOKEN_KEYS = ("prompt_token_ids", "generation_token_ids", "generation_log_probs")
# Keys of a line that are not the verify answer: shown in their own places, or the input itself.
_NOT_VERIFY = frozenset(
    {"responses_create_params", "response", "timings", "status", "failure", TASK_KEY, ROLLOUT_KEY, *OUTCOME_KEYS}
)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                parts.append(str(part.get("text") or part.get("refusal") or part.get("output") or ""))
            else:
                parts.append(str(part))
        return "\n".join(p for p in parts if p)
    return "" if content is None else str(content)


def item_view(item: Any) -> dict[str, Any]:
    """One input or output item: its kind, role, text, reasoning, call and arguments, output, token ids."""
    if not isinstance(item, Mapping):
        return {"kind": "other", "raw": item}
    kind = str(item.get("type") or ("message" if "role" in item else "other"))
    view: dict[str, Any] = {"kind": kind}
    if kind == "message":
        view["role"] = item.get("role")
        view["text"] = _text(item.get("content"))
    elif kind == "reasoning":
        summary = item.get("summary")
        view["text"] = _text(summary) or _text(item.get("content"))
    elif kind == "function_call":
        view.update(name=item.get("name"), call_id=item.get("call_id"), arguments=item.get("arguments"))
    elif kind == "function_call_output":
        view.update(call_id=item.get("call_id"), text=_text(item.get("output")))
    else:
        view["raw"] = dict(item)
    tokens = {key: item[key] for key in TOKEN_KEYS if key in item}
    if tokens:
        view["tokens"] = tokens
    return view


def _steps(output: Any) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    names: dict[Any, Any] = {}  # call_id -> tool name, so an output says which tool answered
    for item in output if isinstance(output, list) else ():
        view = item_view(item)
        if view["kind"] == "function_call":
            names[view.get("call_id")] = view.get("name")
        if view["kind"] == "function_call_output":
            steps.append({"kind": "tool", "name": names.get(view.get("call_id")), "items": [view]})
        elif steps and steps[-1]["kind"] == "model":
            steps[-1]["items"].append(view)
        else:
            steps.append({"kind": "model", "items": [view]})
    return steps


def trajectory(entry: RolloutEntry, line: Mapping[str, Any], *, inputs: Collection[str] = ()) -> dict[str, Any]:
    """The page's view of one line (`entry` is its index entry): input, steps, verify, failure, timings."""
    params = line.get("responses_create_params")
    given = params.get("input") if isinstance(params, Mapping) else None
    input_items = [item_view({"role": "user", "content": given})] if isinstance(given, str) else []
    if isinstance(given, list):
        input_items = [item_view(item) for item in given]
    response = line.get("response")
    response = response if isinstance(response, Mapping) else {}
    fields = {k: v for k, v in line.items() if k not in _NOT_VERIFY}
    row = {k: v for k, v in fields.items() if k in inputs and k != "reward"}
    verify = {k: v for k, v in fields.items() if k not in row}
    failure = line.get("failure")
    if not entry.ok and not isinstance(failure, Mapping):
        failure = {"stage": entry.stage, "error": line.get("failure_reason")}
    return {
        "id": entry.id,
        "task": entry.task,
        "rollout": entry.rollout,
        "line_number": entry.line_number,
        "status": "ok" if entry.ok else "failed",
        "reward": entry.reward,
        "instructions": params.get("instructions") if isinstance(params, Mapping) else None,
        "input": input_items,
        "steps": _steps(response.get("output")),
        "usage": response.get("usage"),
        "model": response.get("model"),
        "verify": verify,
        "row": row,
        "reward_components": line.get("reward_components")
        if isinstance(line.get("reward_components"), Mapping)
        else None,
        "failure": failure if not entry.ok else None,
        "timings": line.get("timings"),
    }
