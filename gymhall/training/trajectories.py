"""One token sequence per rollout, rebuilt from the token ids its model calls recorded.

A model backend that returns token ids (vLLM through `ChatCompletionsModel(return_token_ids=True)`, or
NeMo Gym's `vllm_model` with `return_token_id_information: true`) puts three fields on the last output
item of each model call: `prompt_token_ids` (everything the model was given), `generation_token_ids`
(what it sampled) and `generation_log_probs` (one per sampled token). `token_trajectory` walks a
rollout's output items in order and joins the calls:

    call 1: prompt P1, generation G1     sequence = P1 | G1
    call 2: prompt P2, generation G2     P2 must start with P1 + G1; sequence += P2[len(P1 + G1):] | G2
    ...

The first prompt becomes `prompt_ids`; everything after it is the completion: generated tokens with
loss mask 1 and their log-probs, and the tokens the next prompts add (tool outputs, the chat template's
turn markers) with loss mask 0 and log-prob 0.0. When a prompt does not extend the tokens seen so far
(the template re-rendered history differently, dropped reasoning, or re-tokenized a generation), the
rollout cannot be trained on as one sequence: the result is a `TokenProblem` naming the call and the
first differing position. Nothing is re-tokenized here; there is no tokenizer to do it with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gymhall.wire.conversion import TOKEN_FIELDS

__all__ = [
    "CAPTURE_INCOMPLETE",
    "NO_TOKEN_IDS",
    "TOKEN_DRIFT",
    "TOKEN_FIELDS_INVALID",
    "TokenProblem",
    "TokenTrajectory",
    "token_trajectory",
]

TOKEN_DRIFT = "gymhall:token_drift"
"""A call's `prompt_token_ids` do not start with the tokens of the calls before it."""

NO_TOKEN_IDS = "gymhall:no_token_ids"
"""No model call of the rollout carries token ids (the backend was not asked for them)."""

CAPTURE_INCOMPLETE = "gymhall:token_capture_incomplete"
"""Some model calls carry token ids and others do not: the sequence would have holes."""

TOKEN_FIELDS_INVALID = "gymhall:token_fields_invalid"
"""Token fields of the wrong type or length, or a log-prob that is not a finite number."""

_PROMPT, _GENERATION, _LOG_PROBS = TOKEN_FIELDS


@dataclass(frozen=True, slots=True)
class TokenTrajectory:
    """A rollout's tokens as one sequence: `prompt_ids + completion_ids`.

    Attributes:
        prompt_ids: the first model call's `prompt_token_ids`: the task's prompt as the model saw it.
        completion_ids: every token after the first prompt, across all calls, in order.
        loss_mask: one per completion token: 1 where the model generated it, 0 where a later prompt
            added it (tool outputs, environment messages, the template's turn markers).
        logprobs: one per completion token: the sampling log-prob where `loss_mask` is 1, else 0.0.
        generation_starts: one per model call: the index in `prompt_ids + completion_ids` where that
            call's generated tokens begin; the sequence before it is exactly that call's prompt.
    """

    prompt_ids: list[int]
    completion_ids: list[int]
    loss_mask: list[int]
    logprobs: list[float]
    generation_starts: list[int]

    @property
    def num_turns(self) -> int:
        """How many model calls the sequence joins."""
        return len(self.generation_starts)


@dataclass(frozen=True, slots=True)
class TokenProblem:
    """Why a rollout has no trainable token sequence: a NeMo Gym 0.7 `failure_kind` and a reason."""

    kind: str
    reason: str


def _is_model_side(item: Mapping[str, Any]) -> bool:
    kind = item.get("type")
    if kind is None or kind == "message":
        return item.get("role") == "assistant"
    return kind == "reasoning" or (isinstance(kind, str) and kind.endswith("_call"))


def _int_list(value: Any) -> list[int] | None:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return value


def _float_list(value: Any) -> list[float] | None:
    if not isinstance(value, list) or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    floats = [float(v) for v in value]
    return floats if all(math.isfinite(v) for v in floats) else None


def _calls(items: Sequence[Any]) -> list[Mapping[str, Any]] | TokenProblem:
    """The items that end each model call, in order; a problem when a call has none or fields are partial."""
    calls: list[Mapping[str, Any]] = []
    open_call = False  # inside a run of model-side items whose last one had no token fields yet
    untracked = 0
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            return TokenProblem(TOKEN_FIELDS_INVALID, f"output item {index} is not a JSON object")
        present = [field for field in TOKEN_FIELDS if field in item]
        if present and len(present) != len(TOKEN_FIELDS):
            missing = sorted(set(TOKEN_FIELDS) - set(present))
            return TokenProblem(TOKEN_FIELDS_INVALID, f"output item {index} has {present} but not {missing}")
        if present:
            calls.append(item)
            open_call = False
        elif _is_model_side(item):
            open_call = True
        elif open_call:
            untracked += 1
            open_call = False
    untracked += open_call
    if not calls:
        reason = (
            "no model call of the rollout carries prompt_token_ids: ask the backend for them "
            "(ChatCompletionsModel(return_token_ids=True); NeMo Gym's return_token_id_information: true)"
        )
        return TokenProblem(NO_TOKEN_IDS, reason)
    if untracked:
        return TokenProblem(
            CAPTURE_INCOMPLETE,
            f"{untracked} model call(s) carry no token ids while {len(calls)} do: the sequence would have holes",
        )
    return calls


def _first_difference(seen: Sequence[int], prompt: Sequence[int]) -> int:
    for position, (a, b) in enumerate(zip(seen, prompt, strict=False)):
        if a != b:
            return position
    return min(len(seen), len(prompt))


def token_trajectory(items: Sequence[Any]) -> TokenTrajectory | TokenProblem:
    """Join the model calls recorded on a rollout's output items (`line["response"]["output"]`).

    Returns the sequence, or a `TokenProblem` when it cannot be built exactly: no token ids at all,
    some calls without them, malformed fields, or a prompt that does not extend what came before
    (`TOKEN_DRIFT`, naming the call, 1-based, and the first differing position).
    """
    calls = _calls(items)
    if isinstance(calls, TokenProblem):
        return calls
    prompt_ids: list[int] = []
    completion: list[int] = []
    loss_mask: list[int] = []
    logprobs: list[float] = []
    starts: list[int] = []
    for turn, item in enumerate(calls, start=1):
        prompt = _int_list(item[_PROMPT])
        generation = _int_list(item[_GENERATION])
        log_probs = _float_list(item[_LOG_PROBS])
        if prompt is None or generation is None or log_probs is None:
            reason = f"model call {turn}: the token fields must be lists of ints (ids) and finite numbers (log-probs)"
            return TokenProblem(TOKEN_FIELDS_INVALID, reason)
        if len(log_probs) != len(generation):
            reason = f"model call {turn}: {len(generation)} generated ids but {len(log_probs)} log-probs"
            return TokenProblem(TOKEN_FIELDS_INVALID, reason)
        if turn == 1:
            prompt_ids = list(prompt)
        else:
            seen = len(prompt_ids) + len(completion)
            history = prompt_ids + completion
            if prompt[:seen] != history:
                position = _first_difference(history, prompt)
                reason = (
                    f"model call {turn}: its prompt_token_ids ({len(prompt)} tokens) do not extend the {seen} tokens "
                    f"of the calls before it; first difference at position {position}. The chat template re-rendered "
                    "earlier turns (or the server re-tokenized them): pass the token ids back on the items, or use a "
                    "template that keeps history as generated"
                )
                return TokenProblem(TOKEN_DRIFT, reason)
            added = prompt[seen:]
            completion += added
            loss_mask += [0] * len(added)
            logprobs += [0.0] * len(added)
        starts.append(len(prompt_ids) + len(completion))
        completion += generation
        loss_mask += [1] * len(generation)
        logprobs += log_probs
    return TokenTrajectory(prompt_ids, completion, loss_mask, logprobs, starts)
