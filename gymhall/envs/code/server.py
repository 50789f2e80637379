"""`code`: Python code generation graded by hidden unit tests run in a sandbox.

Rows have the shape of NeMo Gym's `code_gen` resources server (LiveCodeBench format), so its datasets
work unchanged and get the same rewards: `verifier_metadata.unit_tests` holds `inputs`, `outputs` and
`fn_name`. With `fn_name` null each test is a stdin/stdout program run; otherwise each input line is
a JSON argument of `fn_name` (a method of `Solution` when the code defines that class) and the output
is the JSON of its return value. The code is the last fenced block of the model's final answer.

Each test of a row runs in its own sandboxed child (`harness.py`, through `Sandbox.run_each`) that
holds only that test's input; the expected outputs stay on the server (`grade.py`). The settings are
in `config.py`, the row's shape in `rows.py`, reading the answer in `answer.py`, and the output
comparisons in `comparison.py`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import time
from pathlib import Path
from typing import Any

from gymhall import BaseResourcesServerConfig, Environment, Sandbox, SandboxLimits
from gymhall.envs.code.answer import extract_code, reasoning_format_violation
from gymhall.envs.code.config import CodeConfig, MiB
from gymhall.envs.code.grade import Grade, grade, stops
from gymhall.envs.code.rows import CodeVerifyRequest, UnitTests

# CodeConfig, CodeVerifyRequest, UnitTests and extract_code are re-exported: they were this module's API.
__all__ = ["CodeConfig", "CodeGen", "CodeVerifyRequest", "UnitTests", "extract_code"]

_STARTUP_SECONDS = 5.0  # interpreter start and imports, on a loaded machine
_GRACE_SECONDS = 0.5  # past a test's time limit, for the harness to report it, before the child is killed
# Imported once by the sandbox's supervisor, before it forks each test's child: the harness and its prelude.
_PRELOAD = ("gymhall_harness",)


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
        job = {
            "fn_name": tests.fn_name,
            "time_limit": settings.time_limit_s,
            "output_limit": settings.output_limit_bytes,
        }
        # Each test in its own child, killed by the sandbox's supervisor at its time limit plus a grace for
        # the harness; the whole verify has one wall budget, enforced from this process.
        wall = settings.time_limit_s + _GRACE_SECONDS
        limits = SandboxLimits(
            wall_seconds=wall,
            cpu_seconds=math.ceil(wall),
            memory_bytes=self.sandbox.limits.memory_bytes,
            file_size_bytes=self.sandbox.limits.file_size_bytes,
            output_bytes=self.sandbox.limits.output_bytes,
        )
        stop_on_error = settings.reward_mode == "all"
        runs = await self.sandbox.run_each(
            "import gymhall_harness\ngymhall_harness.main()\n",
            [text.encode() for text in tests.inputs],
            files={"gymhall_harness.py": _harness_source(), "solution.py": code, "job.json": json.dumps(job)},
            limits=limits,
            budget_seconds=wall * len(tests.inputs) + _STARTUP_SECONDS,
            preload=_PRELOAD,
            stop=lambda run: stops(run, stop_on_error),
        )

        def judge() -> Grade:
            return grade(runs, tests, settings.time_limit_s)

        # Parsing and comparing large outputs is CPU work: keep it off the event loop.
        return await asyncio.to_thread(judge)
