"""Test harness run *inside* the sandbox: runs a solution on each test input and reports what it produced.

Standard library only; the server sends this file's text to `Sandbox.run` and never imports it.
It reads a JSON job from stdin: `code`, `fn_name` (None for stdin/stdout programs), `inputs`,
`time_limit` (seconds per test), `stop_on_error`, `output_limit` (bytes per test) and `token`.
For each test it writes one line, `<token>{json}`, to the original stdout: the program's stdout
(stdin/stdout tests) or the JSON of the function's return value (function tests), and a status.

The expected outputs never enter the sandbox: the server compares, so a solution cannot read them
or forge a verdict; the most it can forge is an output it could have printed anyway.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

# Names a solution may use without importing them, as NeMo Gym's code_gen (LiveCodeBench) grader
# provides: `from m import *` for each module, then `import m` for each but the last two.
_STAR_MODULES = (
    "string re datetime collections heapq bisect copy math random statistics itertools functools operator "
    "io sys json builtins typing"
).split()
_PLAIN_MODULES = _STAR_MODULES[:-2]
_RECURSION_LIMIT = 50_000


class TimeLimitExceeded(BaseException):
    """Raised in the solution when its test's time is up (a BaseException, so `except Exception` misses it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise TimeLimitExceeded


def _prelude() -> dict[str, Any]:
    names: dict[str, Any] = {}
    for name in _STAR_MODULES:
        module = importlib.import_module(name)
        public = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        names.update({n: getattr(module, n) for n in public if hasattr(module, n)})
    names.update({name: importlib.import_module(name) for name in _PLAIN_MODULES})
    return names


class Harness:
    """Runs one job's tests and reports each on the result channel."""

    def __init__(self, job: dict[str, Any], results: int) -> None:
        self.job = job
        self.results = results
        self.token: str = job["token"]
        self.limit = float(job["time_limit"])
        self.output_limit = int(job["output_limit"])
        self.base = _prelude()

    def report(self, record: dict[str, Any]) -> None:
        os.write(self.results, (self.token + json.dumps(record) + "\n").encode())

    def _redirect(self, test_input: str) -> None:
        """Point fd 0 at this test's input and fd 1 at a fresh capture file, and sys.stdin/stdout at them."""
        with open("stdin.txt", "w", encoding="utf-8") as f:
            f.write(test_input)
        for fd, path, flags in (
            (0, "stdin.txt", os.O_RDONLY),
            (1, "stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        ):
            opened = os.open(path, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")

    def _captured(self) -> tuple[str, bool]:
        try:
            sys.stdout.flush()
        except BaseException:  # the solution may have closed or replaced it
            pass
        with open("stdout.txt", "rb") as f:
            data = f.read(self.output_limit + 1)
        return data[: self.output_limit].decode("utf-8", errors="replace"), len(data) > self.output_limit

    def _namespace(self) -> dict[str, Any]:
        names = dict(self.base)
        names.update(stdin=sys.stdin, stdout=sys.stdout, __name__="__main__", __builtins__=__builtins__)
        return names

    def _timed(self, call: Callable[..., Any], *args: Any) -> tuple[str, Any, str, float]:
        """Run `call(*args)` under the time limit: (status, value, error, seconds); status ok, timeout or error."""
        random.seed(0)  # a solution using `random` behaves the same on every run
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, self.limit)
        status, value, error = "ok", None, ""
        try:
            value = call(*args)
        except TimeLimitExceeded:
            status = "timeout"
        except SystemExit:
            pass  # exit() ends a program normally
        except BaseException as exc:
            status, error = "error", "".join(traceback.format_exception_only(type(exc), exc)).strip()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        seconds = time.perf_counter() - start
        if status == "ok" and seconds > self.limit:
            status = "timeout"  # the solution caught the alarm and ran on
        return status, value, error, seconds

    def run(self) -> None:
        try:
            code = compile(self.job["code"], "solution.py", "exec")
        except BaseException as exc:
            self.report({"setup": "error", "error": "".join(traceback.format_exception_only(type(exc), exc)).strip()})
            return
        if self.job["fn_name"] is None:
            self.report({"setup": "ok"})
            self._run_programs(code)
        else:
            self._run_functions(code, str(self.job["fn_name"]))

    def _run_programs(self, code: Any) -> None:
        for index, test_input in enumerate(self.job["inputs"]):
            self._redirect(test_input)
            namespace = self._namespace()
            status, _, error, seconds = self._timed(exec, code, namespace)
            output, truncated = self._captured()
            self.report(
                {
                    "i": index,
                    "status": status,
                    "output": output,
                    "truncated": truncated,
                    "error": error,
                    "seconds": seconds,
                }
            )
            if status != "ok" and self.job["stop_on_error"]:
                return

    def _run_functions(self, code: Any, fn_name: str) -> None:
        self._redirect("")
        namespace = self._namespace()
        status, _, error, _ = self._timed(exec, code, namespace)
        function = None
        if status == "ok":
            solution = namespace.get("Solution")
            if isinstance(solution, type) and "class Solution" in self.job["code"]:
                try:
                    function = getattr(solution(), fn_name, None)
                except BaseException as exc:
                    error = f"Solution() failed: {exc!r}"
            function = function or namespace.get(fn_name)
            if function is not None and function is self.base.get(fn_name):
                function = None  # `add` from the prelude's `operator` is not the solution's `add`
            if not callable(function):
                status, error = "error", error or f"the solution defines no function named {fn_name!r}"
        if not callable(function):
            self.report({"setup": "error", "error": error or f"the solution timed out before defining {fn_name!r}"})
            return
        self.report({"setup": "ok"})
        for index, test_input in enumerate(self.job["inputs"]):
            self._redirect("")
            try:
                arguments = [json.loads(line) for line in test_input.split("\n")]
            except ValueError as exc:
                self.report({"i": index, "status": "error", "error": f"bad test input: {exc}", "seconds": 0.0})
                continue
            status, value, error, seconds = self._timed(function, *arguments)
            record: dict[str, Any] = {"i": index, "status": status, "error": error, "seconds": seconds}
            if status == "ok":
                try:
                    # A tuple is as good as a list (JSON has only lists), as in NeMo Gym's grader.
                    record["output"] = json.dumps(list(value) if isinstance(value, tuple) else value)
                except (TypeError, ValueError) as exc:
                    record.update(status="unserializable", error=f"the return value is not JSON: {exc}")
            self.report(record)
            if status != "ok" and self.job["stop_on_error"]:
                return


def main() -> None:
    """Read the job from stdin, keep a private copy of stdout for results, then run the tests."""
    job = json.loads(sys.stdin.buffer.read())
    results = os.dup(1)
    sys.setrecursionlimit(_RECURSION_LIMIT)
    sys.set_int_max_str_digits(0)
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the file-size limit: an error, not a kill
    Harness(job, results).run()
    os.write(results, (job["token"] + json.dumps({"done": True}) + "\n").encode())


if __name__ == "__main__":
    main()
