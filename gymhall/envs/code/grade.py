"""Grading one run of a row's tests: the harness's output records, and the verdict drawn from them.

The harness (`harness.py`) runs every test of a row in one sandboxed process and prints what each
produced; the expected outputs never leave the server, so the comparison happens here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gymhall import SandboxResult
from gymhall.envs.code.comparison import parse_json, program_output_matches, return_value_matches
from gymhall.envs.code.rows import UnitTests

__all__ = ["PASSED", "RUNTIME_ERROR", "TIME_LIMIT", "WRONG_ANSWER", "Grade", "Records", "grade"]

PASSED, WRONG_ANSWER, TIME_LIMIT, RUNTIME_ERROR = True, -2, -3, -4  # NeMo Gym's per-test result codes
_TRUNCATE = 300


def _truncate(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _TRUNCATE else text[: _TRUNCATE // 2] + "...(truncated)..." + text[-_TRUNCATE // 2 :]


@dataclass
class Records:
    """The harness's output lines, each timed on arrival: the sandbox's stdout, read as it streams.

    Lines are kept raw here (this runs on the event loop) and parsed by `parse` in a worker thread.
    """

    lines: list[tuple[float, bytes]] = field(default_factory=list)
    _partial: list[bytes] = field(default_factory=list)

    def feed(self, chunk: bytes) -> None:
        if b"\n" not in chunk:
            self._partial.append(chunk)
            return
        now = time.monotonic()
        first, *rest = chunk.split(b"\n")
        self._partial.append(first)
        self.lines.append((now, b"".join(self._partial)))
        *complete, last = rest
        self.lines.extend((now, line) for line in complete)
        self._partial = [last]

    def parse(self, token: bytes) -> list[tuple[float, dict[str, Any]]]:
        """The records: lines holding `token`, followed by a JSON object."""
        records = []
        for arrived, line in self.lines:
            start = line.find(token)
            if start < 0:
                continue
            try:
                record = json.loads(line[start + len(token) :])
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append((arrived, record))
        return records


@dataclass
class Grade:
    """The verdict on one run of a row's tests."""

    result: list[bool | int]  # per test, in order, up to the first one without a verdict
    passed: int
    timed_out: int
    metadata: dict[str, Any]


def grade(
    records: Sequence[tuple[float, Mapping[str, Any]]], tests: UnitTests, run: SandboxResult, time_limit: float
) -> Grade:
    """Compare the harness's records with the expected outputs.

    A test's record must arrive within its time limit (plus slack for the harness) of the previous
    one: the harness runs in the solution's process, so its own clock cannot be trusted alone.
    """
    slack = max(1.0, 0.25 * time_limit)
    by_index: dict[int, tuple[float, Mapping[str, Any]]] = {}
    setup: tuple[float, Mapping[str, Any]] | None = None
    for arrived, record in records:
        if "setup" in record and setup is None:
            setup = (arrived, record)
        elif isinstance(record.get("i"), int) and record["i"] not in by_index:
            by_index[record["i"]] = (arrived, record)
    if setup is None or setup[1].get("setup") != "ok":
        error = str(setup[1].get("error", "")) if setup else _crash(run)
        return Grade(
            [RUNTIME_ERROR],
            0,
            0,
            {"error_code": RUNTIME_ERROR, "error_message": "Runtime Error", "error": _truncate(error)},
        )
    result: list[bool | int] = []
    metadata: dict[str, Any] = {}
    previous = setup[0]
    for index, (test_input, expected) in enumerate(zip(tests.inputs, tests.outputs, strict=True)):
        found = by_index.get(index)
        if found is None:
            if not metadata:  # no earlier failure stopped the harness: the run itself died here
                code = TIME_LIMIT if run.killed in ("timeout", "cpu_limit") else RUNTIME_ERROR
                result.append(code)
                metadata = _failure(code, test_input, expected, error=_crash(run))
            break
        arrived, record = found
        code, details = _verdict(record, expected, tests.fn_name is not None)
        if code is PASSED and arrived - previous > time_limit + slack:
            code, details = TIME_LIMIT, {"error": f"no result within {time_limit:g} s"}
        previous = arrived
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
