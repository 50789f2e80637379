"""`code`: Python code generation graded by hidden unit tests run in a sandbox.

Rows have the shape of NeMo Gym's `code_gen` resources server (LiveCodeBench format), so its datasets
work unchanged and get the same rewards: `verifier_metadata.unit_tests` holds `inputs`, `outputs` and
`fn_name`. With `fn_name` null each test is a stdin/stdout program run; otherwise each input line is
a JSON argument of `fn_name` (a method of `Solution` when the code defines that class) and the output
is the JSON of its return value. The code is the last fenced block of the model's final answer.

All tests of a row run in one sandboxed process (`harness.py`); the expected outputs stay here.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from gymhall import BaseResourcesServerConfig, BaseVerifyRequest, Environment, Sandbox, SandboxLimits, SandboxResult

__all__ = ["CodeConfig", "CodeGen", "CodeVerifyRequest", "UnitTests", "extract_code"]

MiB = 1024 * 1024
PASSED, WRONG_ANSWER, TIME_LIMIT, RUNTIME_ERROR = True, -2, -3, -4  # NeMo Gym's per-test result codes
_STARTUP_SECONDS = 5.0  # interpreter start and imports, on a loaded machine
_TRUNCATE = 300


class CodeConfig(BaseResourcesServerConfig):
    """Settings of the `code` environment (NeMo Gym's `num_processes` and `unit_test_timeout_secs` are accepted)."""

    pool_size: int = Field(default=4, gt=0, validation_alias=AliasChoices("pool_size", "num_processes"))
    time_limit_s: float = Field(
        default=10.0, gt=0, validation_alias=AliasChoices("time_limit_s", "unit_test_timeout_secs")
    )
    memory_limit_mb: int = Field(default=1024, gt=0)
    output_limit_bytes: int = Field(default=8 * MiB, gt=0)
    reward_mode: Literal["all", "fraction"] = "all"
    reasoning_format_penalty: float = Field(default=0.0, ge=0.0, le=1.0)
    isolation: Literal["auto", "namespace", "audit-hook"] = "auto"


class UnitTests(BaseModel):
    """The hidden tests (LiveCodeBench format): parallel `inputs` and `outputs`, and `fn_name` for function tests."""

    inputs: list[str]
    outputs: list[str]
    fn_name: str | None = None

    @model_validator(mode="after")
    def _check(self) -> UnitTests:
        if not self.inputs:
            raise ValueError("unit_tests has no tests; give at least one input and its output")
        if len(self.inputs) != len(self.outputs):
            raise ValueError(f"unit_tests has {len(self.inputs)} inputs but {len(self.outputs)} outputs")
        if self.fn_name is not None:
            if not self.fn_name.isidentifier():
                raise ValueError(f"fn_name {self.fn_name!r} is not a Python identifier")
            for index, output in enumerate(self.outputs):
                try:
                    _parse_json(output)
                except ValueError as exc:
                    raise ValueError(
                        f"outputs[{index}] is not JSON ({exc}); function tests compare JSON values"
                    ) from None
        return self


class VerifierMetadata(BaseModel):
    """`verifier_metadata` of a row: the unit tests, and optionally a difficulty label reported with the reward."""

    model_config = ConfigDict(extra="allow")

    unit_tests: UnitTests
    difficulty: str | None = None


class CodeVerifyRequest(BaseVerifyRequest):
    """Body of `POST /verify`: the row (with `verifier_metadata`) and the model's response."""

    verifier_metadata: VerifierMetadata


def extract_code(text: str) -> str:
    """The code between the last two lines holding a ``` fence ("" when there are fewer than two).

    The same rule as NeMo Gym's code_gen (LiveCodeBench's OpenAI-chat style), so answers extract alike.
    """
    lines = text.split("\n")
    fences = [index for index, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[-2] + 1 : fences[-1]])


def reasoning_format_violation(response: Any) -> bool:
    """Whether think tags leaked into the final answer, or the reasoning holds more than one of either tag."""
    answer = response.output_text or ""
    if "<think>" in answer or "</think>" in answer:
        return True
    reasoning = "".join(
        str(getattr(part, "text", "") or "")
        for item in response.output or []
        if getattr(item, "type", None) == "reasoning"
        for part in getattr(item, "summary", None) or []
    )
    return reasoning.count("<think>") > 1 or reasoning.count("</think>") > 1


def _big_int(text: str) -> int:
    return int(Decimal(text))  # int(str) refuses over 4,300 digits; Decimal has no such limit


def _parse_json(text: str) -> Any:
    return json.loads(text, parse_int=_big_int)


def _stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except InvalidOperation:
        return None


def program_output_matches(actual: str, expected: str) -> bool:
    """Stdin/stdout comparison: same number of lines (outer blank lines and line padding ignored), each
    line equal, or equal as numbers token by token (so `1.50` matches `1.5`)."""
    got, want = _stripped_lines(actual), _stripped_lines(expected)
    if len(got) != len(want):
        return False
    for mine, theirs in zip(got, want, strict=True):
        if mine == theirs:
            continue
        numbers = _decimals(mine)
        if numbers is None or numbers != _decimals(theirs):
            return False
    return True


def return_value_matches(actual: Any, expected: Any) -> bool:
    """Function-test comparison: equal values, equal JSON, or floats within 1e-5 relative (+1e-8 absolute)."""
    if actual == expected:
        return True
    try:
        if json.dumps(actual) == json.dumps(expected):
            return True
    except ValueError:  # an integer too long to print
        pass
    try:
        a, b = float(actual), float(expected)
    except (TypeError, ValueError, OverflowError):
        return False
    return a == b or abs(a - b) <= 1e-8 + 1e-5 * abs(b)


def _truncate(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _TRUNCATE else text[: _TRUNCATE // 2] + "...(truncated)..." + text[-_TRUNCATE // 2 :]


@dataclass
class _Records:
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
            matches = return_value_matches(_parse_json(output), _parse_json(expected))
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


@functools.cache
def _harness_source() -> str:
    return (Path(__file__).parent / "harness.py").read_text(encoding="utf-8")


class CodeGen(Environment):
    """Code generation: the final answer's last code block must pass the row's hidden unit tests.

    No tools. Reward 1.0 when every test passes (`reward_mode: fraction`: the fraction passed);
    `reasoning_format_penalty` (default 0.0) when think tags leak into the answer, as in NeMo Gym.
    """

    config_class = CodeConfig
    domain = "coding"

    def __init__(self, config: BaseResourcesServerConfig | None = None) -> None:
        super().__init__(config)
        settings = self.settings
        limits = SandboxLimits(
            memory_bytes=settings.memory_limit_mb * MiB,
            file_size_bytes=settings.output_limit_bytes,
            output_bytes=settings.output_limit_bytes + MiB,
        )
        self.sandbox = Sandbox(pool_size=settings.pool_size, limits=limits, isolation=settings.isolation)

    @property
    def settings(self) -> CodeConfig:
        """The config, as this environment's own settings class."""
        config = self.config
        if not isinstance(config, CodeConfig):
            config = CodeConfig.model_validate(config.model_dump())
            self.config = config
        return config

    async def verify(self, state: None, body: CodeVerifyRequest) -> dict[str, Any]:
        """Run the answer's code on the hidden tests; the reward and NeMo Gym's diagnostic fields."""
        tests = body.verifier_metadata.unit_tests
        fields: dict[str, Any] = {
            "reward": 0.0,
            "tests_total": len(tests.inputs),
            "tests_passed": 0,
            "tests_timed_out": 0,
            "timed_out": 0.0,
            "reasoning_format_violation_rate": 0.0,
        }
        if body.verifier_metadata.difficulty is not None:
            fields["difficulty"] = body.verifier_metadata.difficulty
        text = body.response.output_text or ""
        if not text.strip():
            return {**fields, "error": "the response has no final text"}
        code = extract_code(text)
        fields.update(extracted_model_output=text, extracted_model_code=code)
        if not code.strip():
            return {**fields, "error": "no fenced code block (```python ... ```) in the final answer"}
        started = time.monotonic()
        verdict = await self._run_tests(code, tests)
        violation = reasoning_format_violation(body.response)
        if violation:
            reward = self.settings.reasoning_format_penalty
        elif self.settings.reward_mode == "fraction":
            reward = verdict.passed / len(tests.inputs)
        else:
            reward = float(verdict.passed == len(tests.inputs))
        return {
            **fields,
            "reward": reward,
            "result": verdict.result,
            "metadata": verdict.metadata,
            "tests_passed": verdict.passed,
            "tests_timed_out": verdict.timed_out,
            "timed_out": float(verdict.timed_out > 0),
            "unit_tests_time_taken": time.monotonic() - started,
            "reasoning_format_violation_rate": float(violation),
        }

    async def _run_tests(self, code: str, tests: UnitTests) -> Grade:
        settings = self.settings
        token = "@@gymhall-" + secrets.token_hex(8) + "@@"
        job = {
            "code": code,
            "fn_name": tests.fn_name,
            "inputs": tests.inputs,
            "time_limit": settings.time_limit_s,
            "stop_on_error": settings.reward_mode == "all",
            "output_limit": settings.output_limit_bytes,
            "token": token,
        }
        budget = settings.time_limit_s * (len(tests.inputs) + 1) + _STARTUP_SECONDS
        limits = SandboxLimits(
            wall_seconds=budget,
            cpu_seconds=math.ceil(budget),
            memory_bytes=self.sandbox.limits.memory_bytes,
            file_size_bytes=self.sandbox.limits.file_size_bytes,
            output_bytes=self.sandbox.limits.output_bytes,
        )
        lines = _Records()
        run = await self.sandbox.run(
            _harness_source(), stdin=json.dumps(job).encode(), limits=limits, on_stdout=lines.feed
        )

        def judge() -> Grade:
            return grade(lines.parse(token.encode()), tests, run, settings.time_limit_s)

        # Parsing and comparing large outputs line by line is CPU work: keep it off the event loop.
        return await asyncio.to_thread(judge)
