"""Test harness run *inside* the sandbox: runs a solution on one test input and reports what it produced.

Standard library only; the server sends this file's text to `Sandbox.run_each` (as `gymhall_harness.py`,
which the sandbox's supervisor imports once, before it forks the children) and never imports it.
Each test runs in a fresh sandboxed child (`Sandbox.run_each`) that holds only that test's input, on
its stdin. Beside this file are `solution.py` (the code) and `job.json`: `fn_name` (None for
stdin/stdout programs), `time_limit` (seconds) and `output_limit` (bytes). The child writes one JSON
line to its stdout: the program's stdout (stdin/stdout tests) or the JSON of the function's return
value (function tests), and a status; `{"setup": "error", ...}` when the solution cannot be run.

Neither the expected outputs nor the other tests' inputs ever enter the child: the server compares,
and the sandbox's supervisor starts each child before its input is read, so a solution cannot read
them, find them in its frames, or forge a verdict; the most it can forge is an output it could have
printed anyway. The dataset and gymhall's files are out of its filesystem view (see `Sandbox`).
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
import types
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
_MODULE = "solution"  # the module name a function solution runs under (not "__main__")


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


# Built once, where the sandbox's supervisor imports this module before forking each test's child.
_BASE = _prelude()


class Harness:
    """Runs the solution on this child's one test and reports it on the result channel."""

    def __init__(self, settings: dict[str, Any], code: str, results: int) -> None:
        self.fn_name: str | None = settings["fn_name"]
        self.limit = float(settings["time_limit"])
        self.output_limit = int(settings["output_limit"])
        self.code = code
        self.results = results
        self.base = _BASE

    def report(self, record: dict[str, Any]) -> None:
        os.write(self.results, (json.dumps(record) + "\n").encode())

    def _capture_stdout(self) -> None:
        """Point fd 1 at a fresh capture file, and sys.stdout at it."""
        opened = os.open("stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, 1)
        os.close(opened)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")

    def _captured(self) -> tuple[str, bool]:
        try:
            sys.stdout.flush()
        except BaseException:  # the solution may have closed or replaced it
            pass
        with open("stdout.txt", "rb") as f:
            data = f.read(self.output_limit + 1)
        return data[: self.output_limit].decode("utf-8", errors="replace"), len(data) > self.output_limit

    def _namespace(self, name: str) -> dict[str, Any]:
        """Globals for the solution run as module `name`, with the prelude's names in them.

        A function solution runs as a module (`_MODULE`), as NeMo Gym's grader runs it, so an
        `if __name__ == "__main__":` demo after the function does not run; a program runs as `__main__`,
        so its usual `main()` guard does. The module is registered in `sys.modules` (this child's only)
        because `dataclasses` and `typing` look a class's module up there.
        """
        module = types.ModuleType(name)
        names = module.__dict__
        names.update(self.base)
        names.update(stdin=sys.stdin, stdout=sys.stdout, __name__=name, __builtins__=__builtins__)
        if name != "__main__":
            sys.modules[name] = module
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
            code = compile(self.code, "solution.py", "exec")
        except BaseException as exc:
            self.report({"setup": "error", "error": "".join(traceback.format_exception_only(type(exc), exc)).strip()})
            return
        if self.fn_name is None:
            self._run_program(code)
        else:
            self._run_function(code, self.fn_name)

    def _run_program(self, code: Any) -> None:
        self._capture_stdout()
        status, _, error, seconds = self._timed(exec, code, self._namespace("__main__"))
        output, truncated = self._captured()
        self.report({"status": status, "output": output, "truncated": truncated, "error": error, "seconds": seconds})

    def _run_function(self, code: Any, fn_name: str) -> None:
        test_input = sys.stdin.read()
        sys.stdin = io.StringIO("")
        self._capture_stdout()
        namespace = self._namespace(_MODULE)
        status, _, error, _ = self._timed(exec, code, namespace)
        function = None
        if status == "ok":
            solution = namespace.get("Solution")
            if isinstance(solution, type) and "class Solution" in self.code:
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
        try:
            arguments = [json.loads(line) for line in test_input.split("\n")]
        except ValueError as exc:
            self.report({"status": "error", "error": f"bad test input: {exc}", "seconds": 0.0})
            return
        status, value, error, seconds = self._timed(function, *arguments)
        record: dict[str, Any] = {"status": status, "error": error, "seconds": seconds}
        if status == "ok":
            try:
                # A tuple is as good as a list (JSON has only lists), as in NeMo Gym's grader.
                record["output"] = json.dumps(list(value) if isinstance(value, tuple) else value)
            except (TypeError, ValueError) as exc:
                record.update(status="unserializable", error=f"the return value is not JSON: {exc}")
        self.report(record)


def main() -> None:
    """Read the settings and the solution, keep a private copy of stdout for the result, then run the test."""
    with open("job.json", encoding="utf-8") as f:
        settings = json.load(f)
    with open("solution.py", encoding="utf-8") as f:
        code = f.read()
    results = os.dup(1)
    sys.setrecursionlimit(_RECURSION_LIMIT)
    sys.set_int_max_str_digits(0)
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the file-size limit: an error, not a kill
    Harness(settings, code, results).run()


if __name__ == "__main__":
    main()
