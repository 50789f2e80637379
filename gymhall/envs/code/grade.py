"""Grading one row's tests: each test's sandboxed run, and the verdict drawn from them.

The harness (`harness.py`) runs each test in its own sandboxed child, which holds only that test's
input, and prints one JSON record; the expected outputs never leave the server, so the comparison
happens here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gymhall import SandboxResult
from gymhall.envs.code.comparison import parse_json, program_output_matches, return_value_matches
from gymhall.envs.code.rows import UnitTests

__all__ = ["PASSED", "RUNTIME_ERROR", "TIME_LIMIT", "WRONG_ANSWER", "Grade", "grade", "record_of", "stops"]

PASSED, WRONG_ANSWER, TIME_LIMIT, RUNTIME_ERROR = True, -2, -3, -4  # NeMo Gym's per-test result codes
_TRUNCATE = 300


def _truncate(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _TRUNCATE else text[: _TRUNCATE // 2] + "...(truncated)..." + text[-_TRUNCATE // 2 :]


def record_of(run: SandboxResult) -> dict[str, Any] | None:
    """The harness's record: the last line of the child's stdout that is a JSON object."""
    for line in reversed(run.stdout.splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            return record
    return None


def stops(run: SandboxResult, stop_on_error: bool) -> bool:
    """Whether the remaining tests need not run: the solution cannot start, or (`stop_on_error`) a test failed.

    Runs on the event loop after each test, so it reads only the record's first bytes (`status` comes first).
    """
    head = run.stdout.rsplit(b"\n", 2)[-2:]
    last = next((line for line in reversed(head) if line.strip()), b"")
    if last.startswith(b'{"setup"'):
        return True
    return stop_on_error and (not run.ok or not last.startswith(b'{"status": "ok"'))


@dataclass
class Grade:
    """The verdict on one run of a row's tests."""

    result: list[bool | int]  # per test, in order, up to the first one without a verdict
    passed: int
    timed_out: int
    metadata: dict[str, Any]


def grade(runs: Sequence[SandboxResult], tests: UnitTests, time_limit: float) -> Grade:
    """Compare each test's record with its expected output; a test that ran out of time is a time limit.

    The time each child took is measured by the sandbox's supervisor, outside the solution's process.
    """
    slack = max(1.0, 0.25 * time_limit)
    records = [record_of(run) for run in runs]
    if records and records[0] is not None and "setup" in records[0]:
        error = str(records[0].get("error", ""))
        return Grade(
            [RUNTIME_ERROR],
            0,
            0,
            {"error_code": RUNTIME_ERROR, "error_message": "Runtime Error", "error": _truncate(error)},
        )
    result: list[bool | int] = []
    metadata: dict[str, Any] = {}
    cases = zip(tests.inputs, tests.outputs, runs, records, strict=False)
    for test_input, expected, run, record in cases:
        code: bool | int
        if run.killed in ("timeout", "cpu_limit"):
            code, details = TIME_LIMIT, {"error": f"no result within {time_limit:g} s"}
        elif record is None or "setup" in record:
            code, details = RUNTIME_ERROR, {"error": str((record or {}).get("error", "")) or _crash(run)}
        else:
            code, details = _verdict(record, expected, tests.fn_name is not None)
            if code is PASSED and run.duration > time_limit + slack:
                code, details = TIME_LIMIT, {"error": f"no result within {time_limit:g} s"}
        result.append(code)
        if code is not PASSED and not metadata:
            metadata = _failure(code, test_input, expected, **details)
    passed = sum(1 for code in result if code is PASSED)
    timed_out = sum(1 for code in result if code == TIME_LIMIT)
    return Grade(result, passed, timed_out, metadata)


def _verdict(record: Mapping[str, Any], expected: str, function: bool) -> tuple[bool | int, dict[str, Any]]:
    status = record.get("status")
    if status == "timeout":
        return TIME_LIMIT, {}
    if status == "error":
        return RUNTIME_ERROR, {"error": str(record.get("error", ""))}
    output = record.get("output")
    if status not in ("ok", "unserializable") or not isinstance(output, str) or record.get("truncated"):
        return WRONG_ANSWER, {"output": output, "error": str(record.get("error", ""))}
    if function:
        try:
            matches = return_value_matches(parse_json(output), parse_json(expected))
        except ValueError:
            matches = False
    else:
        matches = program_output_matches(output, expected)
    return (PASSED, {}) if matches else (WRONG_ANSWER, {"output": output})


_MESSAGES = {WRONG_ANSWER: "Wrong Answer", TIME_LIMIT: "Time Limit Exceeded", RUNTIME_ERROR: "Runtime Error"}


def _failure(code: int, test_input: str, expected: str, **details: Any) -> dict[str, Any]:
    info = {
        "error_code": code,
        "error_message": _MESSAGES[code],
        "inputs": _truncate(test_input),
        "expected": _truncate(expected),
    }
    info.update({key: _truncate(value) for key, value in details.items() if value not in (None, "")})
    return info


def _crash(run: SandboxResult) -> str:
    if run.killed:
        return f"the run was stopped ({run.killed})"
    tail = run.text("stderr").strip().splitlines()[-1:] or [f"exit code {run.exit_code}"]
    return tail[0]
