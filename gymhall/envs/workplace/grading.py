"""Grading a workplace episode: replaying tool calls, comparing databases, checking the final answer.

The ground truth's calls are replayed on a fresh copy of the row's world; the session's tables must
match the result (order-insensitive, ignoring ids, case and spacing, as `world.snapshot` normalizes
them), and the final answer must name the expected value, which the episode's tool results showed,
and none of the row's `distractors` (the other candidates: naming several is hedging, not answering).
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from gymhall import Environment, InvalidBody, ToolError
from gymhall.envs.workplace.rows import WorkplaceVerifyRequest
from gymhall.envs.workplace.state import WorkplaceState, fresh_state
from gymhall.envs.workplace.world import TABLES, Snapshot, snapshot

__all__ = ["grade", "replay", "strings_in"]


def grade(env: Environment, state: WorkplaceState | None, body: WorkplaceVerifyRequest) -> dict[str, float]:
    """The reward and metrics of an episode; blocking (SQLite), so run it in a worker thread.

    Without a session (stateless reverify), the response's own tool calls are replayed on a
    fresh world in place of the session's database.
    """
    expected = _expected(env, body)
    if state is None:
        state = fresh_state(body.world_seed)
        try:
            replay(env, state, _response_calls(body.response.output), strict=False)
            actual, observed, calls, errors = snapshot(state.db), state.observed, state.calls, state.errors
        finally:
            state.close()
    else:
        with state.lock:
            state.check_open()
            actual, observed = snapshot(state.db), list(state.observed)
            calls, errors = state.calls, state.errors
    differing = _differing_rows(expected, actual)
    final = _final_text(body.response.output)
    hedged = any(_mentions(final, other) for other in body.distractors if _normalized(other))
    answer = _mentions(final, body.expected_answer) and not hedged
    needle = _normalized(body.expected_answer)
    grounded = bool(needle) and any(needle in _normalized(text) for text in strings_in(observed))
    return {
        "reward": float(differing == 0 and answer and grounded),
        "state_match": float(differing == 0),
        "answer_match": float(answer),
        "answer_grounded": float(grounded),
        "answer_hedged": float(hedged),
        "differing_rows": float(differing),
        "tool_calls": float(calls),
        "tool_errors": float(errors),
    }


_EXPECTED_CACHE_SIZE = 1024  # snapshots are a few KB: the tasks of a large batch, with their repeats


class _ExpectedCache:
    """The expected tables by (world seed, ground truth): a task's repeats (a GRPO group) build them once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.snapshots: OrderedDict[tuple[int, str], Snapshot] = OrderedDict()


def _expected(env: Environment, body: WorkplaceVerifyRequest) -> Snapshot:
    cache: _ExpectedCache = env.__dict__.setdefault("_expected_snapshots", _ExpectedCache())
    calls = [(call.name, call.arguments) for call in body.ground_truth]
    key = (body.world_seed, json.dumps(calls, sort_keys=True, default=str))
    with cache.lock:
        if key in cache.snapshots:
            cache.snapshots.move_to_end(key)
            return cache.snapshots[key]
    state = fresh_state(body.world_seed)
    try:
        replay(env, state, calls, strict=True)
        expected = snapshot(state.db)  # tuples of tuples of strings: never changed once built
    finally:
        state.close()
    with cache.lock:
        cache.snapshots[key] = expected
        while len(cache.snapshots) > _EXPECTED_CACHE_SIZE:
            cache.snapshots.popitem(last=False)
    return expected


def replay(env: Environment, state: WorkplaceState, calls: Iterable[tuple[str, Any]], *, strict: bool) -> list[Any]:
    """Make `calls` (tool name, arguments as JSON text or a mapping) on `state`, as the HTTP routes would.

    Returns each call's result (None for a refused one). With `strict`, a call that is refused
    raises `InvalidBody`: the ground truth of a row must apply cleanly to its world.
    """
    specs = {spec.name: spec for spec in env.tools()}
    results: list[Any] = []
    for number, (name, arguments) in enumerate(calls, start=1):
        counted = False  # whether the tool itself ran, and so counted the call
        try:
            spec = specs.get(name)
            if spec is None:
                raise ValueError(f"there is no tool named {name!r}")
            parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
            kwargs = spec.call_arguments(spec.args_model.model_validate(parsed))
            counted = True
            results.append(spec.function(env, state=state, **kwargs))
        except (ToolError, ValueError, TypeError) as exc:
            if strict:
                raise InvalidBody(
                    f"ground_truth call {number} ({name}) does not apply to world {state.seed}: {exc} "
                    "Fix the row's ground_truth."
                ) from None
            if not counted:
                with state.lock:
                    state.calls += 1
                    state.errors += 1
            results.append(None)
    return results


def _response_calls(output: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    for item in output:
        if getattr(item, "type", None) == "function_call":
            yield str(getattr(item, "name", "")), getattr(item, "arguments", "{}")


def _final_text(output: list[Any]) -> str:
    """The text of the episode's last assistant message ("" if there is none)."""
    for item in reversed(output):
        if getattr(item, "type", None) == "message" and getattr(item, "role", None) == "assistant":
            parts = getattr(item, "content", None) or []
            if isinstance(parts, str):
                return parts
            return "".join(str(getattr(p, "text", "") or "") for p in parts if getattr(p, "type", "") == "output_text")
    return ""


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def _mentions(text: str, expected: str) -> bool:
    """Whether `text` contains `expected` (normalized) as a whole token, not inside a longer word or number."""
    haystack, needle = _normalized(text), _normalized(expected)
    if not needle:
        return False
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        before = haystack[start - 1] if start else " "
        after = haystack[end] if end < len(haystack) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = haystack.find(needle, start + 1)
    return False


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (tool results), depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def _differing_rows(expected: Snapshot, actual: Snapshot) -> int:
    """Rows in one state and not the other (as multisets), summed over the compared tables."""
    total = 0
    for table in TABLES:
        want, have = Counter(expected.get(table, ())), Counter(actual.get(table, ()))
        total += sum(((want - have) + (have - want)).values())
    return total
