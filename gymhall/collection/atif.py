"""ATIF, the Agent Trajectory Interchange Format (Harbor RFC 0001), as NeMo Gym 0.7 writes it: both ways.

`export_atif` writes one `<task>-<rollout>.json` per ok rollout line (gymhall's or NeMo Gym's) and a
`manifest.jsonl` of their SHA-256s, in a staging folder renamed into place, so a reader never sees half
an export. `Trajectory` is the schema: NeMo Gym's strict subset of ATIF-v1.7 (unknown keys and wrong types
refused). `rollout_lines` reads such a folder back into rollout lines, which is how `gymhall reverify`
grades an ATIF folder.

What maps to what: the request's system and user messages are the first steps; each model turn is one
`agent` step (its text, reasoning, `tool_calls`, and the tools' answers as its `observation`); token ids
and log-probabilities (NeMo Gym's `prompt_token_ids`, `generation_token_ids`, `generation_log_probs`) are
the step's `metrics`; the usage totals are `final_metrics`. What ATIF has no field for (the row's task
fields, the reward, the request's tools and settings) travels in `extra.gymhall`, so a gymhall export
reads back into lines that verify as the originals did; a foreign ATIF file reads back into the request's
messages and the model's output only.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gymhall.collection.datasets import iter_jsonl, latest_lines
from gymhall.exceptions import DatasetError
from gymhall.wire.lines import ROLLOUT_KEY, TASK_KEY

__all__ = [
    "ATIF_VERSION",
    "MANIFEST",
    "Trajectory",
    "export_atif",
    "rollout_lines",
    "trajectory_line",
    "trajectory_of",
]

ATIF_VERSION = "ATIF-v1.7"
MANIFEST = "manifest.jsonl"
_TOKEN_KEYS = ("prompt_token_ids", "generation_token_ids", "generation_log_probs")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Agent(_Strict):
    name: str
    version: str
    model_name: str | None = None


class ToolCall(_Strict):
    tool_call_id: str
    function_name: str
    arguments: dict[str, Any]


class ObservationResult(_Strict):
    source_call_id: str | None = None
    content: str | None = None


class Observation(_Strict):
    results: list[ObservationResult]


class StepMetrics(_Strict):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    prompt_token_ids: list[int] | None = None
    completion_token_ids: list[int] | None = None
    logprobs: list[float] | None = None


class Step(_Strict):
    step_id: int = Field(ge=1)
    source: Literal["system", "user", "agent"]
    message: str
    timestamp: str | None = None
    model_name: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    observation: Observation | None = None
    metrics: StepMetrics | None = None
    llm_call_count: int | None = None
    extra: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _agent_fields_on_agent_steps(self) -> Step:
        agent_only = ("model_name", "reasoning_content", "tool_calls", "observation", "metrics", "llm_call_count")
        misplaced = [name for name in agent_only if self.source != "agent" and getattr(self, name) is not None]
        if misplaced:
            raise ValueError(f"step {self.step_id}: {', '.join(misplaced)} belong on agent steps only")
        calls = {call.tool_call_id for call in self.tool_calls or ()}
        for result in self.observation.results if self.observation else ():
            if result.source_call_id is not None and result.source_call_id not in calls:
                raise ValueError(f"step {self.step_id}: observation of {result.source_call_id!r}, not a call of it")
        return self


class FinalMetrics(_Strict):
    total_prompt_tokens: int | None = None
    total_completion_tokens: int | None = None
    total_cached_tokens: int | None = None
    total_steps: int


class Trajectory(_Strict):
    """One ATIF-v1.7 trajectory file, as NeMo Gym 0.7 writes it (`extra="forbid"`, strict types)."""

    schema_version: Literal["ATIF-v1.7"]
    session_id: str
    trajectory_id: str
    agent: Agent
    steps: list[Step] = Field(min_length=1)
    final_metrics: FinalMetrics
    extra: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _steps_numbered_in_order(self) -> Trajectory:
        numbers = [step.step_id for step in self.steps]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"step_id must count 1, 2, 3, ... in order; found {numbers}")
        if self.final_metrics.total_steps != len(self.steps):
            raise ValueError(f"final_metrics.total_steps is {self.final_metrics.total_steps}, not {len(self.steps)}")
        return self


def _version() -> str:
    try:
        return importlib.metadata.version("gymhall")
    except importlib.metadata.PackageNotFoundError:  # a source checkout not installed
        return "0+unknown"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    return "".join(str(part.get("text", "")) for part in parts if isinstance(part, Mapping))


def _agent_steps(items: Iterable[Mapping[str, Any]], model: str | None) -> list[dict[str, Any]]:
    """One step per model turn: a turn ends where the tools' answers to it end."""
    steps: list[dict[str, Any]] = []
    step: dict[str, Any] | None = None
    for item in items:
        kind = item.get("type", "message")
        answered = step is not None and "observation" in step
        starts_turn = kind != "function_call_output" and any(key in item for key in _TOKEN_KEYS)
        if step is None or (kind != "function_call_output" and answered) or (starts_turn and "metrics" in step):
            step = {"source": "agent", "message": "", "model_name": model, "llm_call_count": 1}
            steps.append(step)
        if kind == "reasoning":
            text = _text(item.get("summary")) + _text(item.get("content"))
            step["reasoning_content"] = (step.get("reasoning_content") or "") + text
        elif kind == "message":
            step["message"] += _text(item.get("content"))
        elif kind == "function_call":
            raw = str(item.get("arguments", ""))
            try:
                arguments = orjson.loads(raw)
            except orjson.JSONDecodeError:
                arguments = None
            call = {"tool_call_id": str(item.get("call_id")), "function_name": str(item.get("name"))}
            parsed = arguments if isinstance(arguments, dict) else {}
            step.setdefault("tool_calls", []).append({**call, "arguments": parsed})
            if orjson.dumps(parsed).decode() != raw:  # spacing, or not a JSON object: kept as sent
                step.setdefault("extra", {}).setdefault("gymhall_raw_arguments", {})[call["tool_call_id"]] = raw
        elif kind == "function_call_output":
            output = item.get("output")
            content = output if isinstance(output, str) else orjson.dumps(output).decode()
            result = {"source_call_id": str(item.get("call_id")), "content": content}
            step.setdefault("observation", {"results": []})["results"].append(result)
        else:  # an item ATIF has no field for (a web search call, ...): kept, in order, in the step's extra
            step.setdefault("extra", {}).setdefault("gymhall_items", []).append(dict(item))
        if any(key in item for key in _TOKEN_KEYS) and kind != "function_call_output":
            prompt, generation = item.get("prompt_token_ids"), item.get("generation_token_ids")
            step["metrics"] = {
                "prompt_tokens": len(prompt) if isinstance(prompt, list) else None,
                "completion_tokens": len(generation) if isinstance(generation, list) else None,
                "prompt_token_ids": prompt,
                "completion_token_ids": generation,
                "logprobs": item.get("generation_log_probs"),
            }
    return steps


def trajectory_of(
    line: Mapping[str, Any], *, session_id: str, agent_version: str | None = None, source: str = ""
) -> Trajectory:
    """The ATIF trajectory of one ok rollout line (gymhall's or NeMo Gym's); a `ValueError` when it has none."""
    response = line.get("response")
    if not isinstance(response, Mapping) or not isinstance(response.get("output"), list):
        raise ValueError("the line has no `response` with an `output` list (a failed rollout?)")
    params = line.get("responses_create_params") or {}
    request_input = params.get("input", [])
    messages = [{"role": "user", "content": request_input}] if isinstance(request_input, str) else request_input
    steps: list[dict[str, Any]] = []
    for position, item in enumerate(messages):
        role = item.get("role")
        if item.get("type", "message") == "message" and role in ("system", "developer", "user"):
            steps.append({"source": "user" if role == "user" else "system", "message": _text(item.get("content"))})
        else:
            raise ValueError(f"responses_create_params.input[{position}] is a {role or item.get('type')} item")
    model = response.get("model")
    steps.extend(_agent_steps(response["output"], model if isinstance(model, str) else None))
    for number, step in enumerate(steps, start=1):
        step["step_id"] = number
    usage = response.get("usage") or {}
    task, rollout = line.get(TASK_KEY, 0), line.get(ROLLOUT_KEY, 0)
    agent_ref = line.get("agent_ref")
    agent_name = agent_ref.get("name") if isinstance(agent_ref, Mapping) else None
    rest = {key: value for key, value in line.items() if key != "response"}
    rest["responses_create_params"] = {key: value for key, value in params.items() if key != "input"}
    return Trajectory.model_validate(
        {
            "schema_version": ATIF_VERSION,
            "session_id": session_id,
            "trajectory_id": f"{session_id}:{task}:{rollout}",
            "agent": {
                "name": str(agent_name or "gymhall"),
                "version": agent_version or _version(),
                "model_name": model if isinstance(model, str) else None,
            },
            "steps": steps,
            "final_metrics": {
                "total_prompt_tokens": usage.get("input_tokens"),
                "total_completion_tokens": usage.get("output_tokens"),
                "total_cached_tokens": (usage.get("input_tokens_details") or {}).get("cached_tokens"),
                "total_steps": len(steps),
            },
            "extra": {
                "nemo_gym": {"exporter": f"gymhall {_version()}", "source": source, "conversion": "rollout_line"},
                "gymhall": {"line": rest, "response": {k: v for k, v in response.items() if k != "output"}},
            },
        }
    )


def export_atif(
    rollouts_file: Path, output_dir: Path, *, session_id: str | None = None, agent_version: str | None = None
) -> tuple[int, list[str]]:
    """Write an ATIF file per ok line of `rollouts_file` into the new folder `output_dir`, with its manifest.

    Returns (files written, why each skipped line was skipped). The folder appears whole or not at all.
    """
    if not rollouts_file.is_file():
        raise DatasetError(f"{rollouts_file} does not exist. Fix: name a rollouts JSONL (gymhall collect's output).")
    if output_dir.exists():
        raise DatasetError(f"{output_dir} already exists. Fix: name a new folder; an export never overwrites.")
    session = session_id or rollouts_file.stem
    lines = latest_lines(line for _, line in iter_jsonl(rollouts_file, tolerate_torn_tail=True))
    lines.sort(key=lambda line: (str(line.get(TASK_KEY, 0)).zfill(20), str(line.get(ROLLOUT_KEY, 0)).zfill(20)))
    staging = output_dir.with_name(f".{output_dir.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    skipped: list[str] = []
    manifest: list[bytes] = []
    try:
        for line in lines:
            task, rollout = line.get(TASK_KEY, 0), line.get(ROLLOUT_KEY, 0)
            if line.get("status") == "failed":
                skipped.append(f"{task}-{rollout}: a failed rollout (no trajectory to export)")
                continue
            try:
                trajectory = trajectory_of(
                    line, session_id=session, agent_version=agent_version, source=str(rollouts_file)
                )
            except (ValueError, ValidationError) as exc:
                skipped.append(f"{task}-{rollout}: {exc}")
                continue
            data = orjson.dumps(trajectory.model_dump(mode="json", exclude_none=True), option=orjson.OPT_INDENT_2)
            name = f"{task}-{rollout}.json"
            (staging / name).write_bytes(data)
            entry = {"trajectory_path": name, TASK_KEY: task, ROLLOUT_KEY: rollout}
            manifest.append(orjson.dumps({**entry, "expected_sha256": hashlib.sha256(data).hexdigest()}) + b"\n")
        (staging / MANIFEST).write_bytes(b"".join(manifest))
        staging.rename(output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(manifest), skipped


def _output_items(step: Step, number: int) -> list[dict[str, Any]]:
    extra = step.extra or {}
    items: list[dict[str, Any]] = [dict(item) for item in extra.get("gymhall_items", ())]
    if step.reasoning_content:
        summary = [{"type": "summary_text", "text": step.reasoning_content}]
        items.append({"type": "reasoning", "id": f"rs_atif_{number}", "summary": summary})
    if step.message:
        content = [{"type": "output_text", "text": step.message, "annotations": []}]
        items.append(
            {
                "type": "message",
                "id": f"msg_atif_{number}",
                "role": "assistant",
                "status": "completed",
                "content": content,
            }
        )
    raw = extra.get("gymhall_raw_arguments", {})
    for call in step.tool_calls or ():
        arguments = raw.get(call.tool_call_id, orjson.dumps(call.arguments).decode())
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{call.tool_call_id}",
                "call_id": call.tool_call_id,
                "name": call.function_name,
                "arguments": arguments,
                "status": "completed",
            }
        )
    if step.metrics is not None and items:
        tokens = (step.metrics.prompt_token_ids, step.metrics.completion_token_ids, step.metrics.logprobs)
        items[-1].update({key: value for key, value in zip(_TOKEN_KEYS, tokens, strict=True) if value is not None})
    for result in step.observation.results if step.observation else ():
        items.append({"type": "function_call_output", "call_id": result.source_call_id, "output": result.content or ""})
    return items


def trajectory_line(trajectory: Trajectory, *, task: int | None = None, rollout: int | None = None) -> dict[str, Any]:
    """The rollout line an ATIF trajectory records: its request's messages, the model's output, and `extra.gymhall`."""
    ours = (trajectory.extra or {}).get("gymhall") or {}
    line: dict[str, Any] = dict(ours.get("line") or {})
    messages: list[dict[str, Any]] = []
    output: list[dict[str, Any]] = []
    for step in trajectory.steps:
        if step.source == "agent":
            output.extend(_output_items(step, step.step_id))
        elif output:
            raise DatasetError(
                f"{trajectory.trajectory_id}: step {step.step_id} is a {step.source} step after the agent's; "
                "a rollout line holds one request's messages. Fix: split the session into one trajectory per request."
            )
        else:
            messages.append({"role": step.source, "content": step.message})
    line["responses_create_params"] = {"input": messages, **(line.get("responses_create_params") or {})}
    response = {
        "id": f"resp_atif_{trajectory.trajectory_id}",
        "object": "response",
        "created_at": 0.0,
        "model": trajectory.agent.model_name or trajectory.agent.name,
        "status": "completed",
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    line["response"] = {**response, **(ours.get("response") or {}), "output": output}
    indices = trajectory.trajectory_id.rsplit(":", 2)[-2:]
    if task is None and len(indices) == 2 and all(part.isdigit() for part in indices):
        task, rollout = int(indices[0]), int(indices[1])
    line.setdefault(TASK_KEY, task if task is not None else 0)
    line.setdefault(ROLLOUT_KEY, rollout if rollout is not None else 0)
    return line


def rollout_lines(folder: Path) -> list[dict[str, Any]]:
    """The rollout lines of an ATIF folder: its manifest's files (SHA-256 checked), else every `*.json`."""
    manifest = folder / MANIFEST
    entries: list[tuple[Path, dict[str, Any]]]
    if manifest.is_file():
        entries = [(folder / str(entry["trajectory_path"]), entry) for _, entry in iter_jsonl(manifest)]
    else:
        entries = [(path, {}) for path in sorted(folder.glob("*.json"))]
    if not entries:
        raise DatasetError(
            f"{folder} holds no ATIF trajectories. Fix: name a folder `gymhall export --format atif` wrote."
        )
    lines = []
    for path, entry in entries:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DatasetError(
                f"{path}: cannot read this ATIF file ({exc}). Fix: restore it, or drop it from {MANIFEST}."
            ) from None
        expected = entry.get("expected_sha256")
        if expected is not None and hashlib.sha256(data).hexdigest() != expected:
            raise DatasetError(
                f"{path}: its SHA-256 differs from {MANIFEST}'s: the file changed after export. Fix: export again."
            )
        try:
            trajectory = Trajectory.model_validate_json(data)
        except ValidationError as exc:
            raise DatasetError(f"{path} is not a valid {ATIF_VERSION} trajectory: {exc}") from None
        lines.append(trajectory_line(trajectory, task=entry.get(TASK_KEY), rollout=entry.get(ROLLOUT_KEY)))
    return lines
