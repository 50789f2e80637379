"""math-verify in worker processes that can be killed: a stuck check costs its worker, never the server.

SymPy can run for minutes on adversarial input (`9^{9^{9^{9}}}`), inside C code no signal
interrupts, and `concurrent.futures.ProcessPoolExecutor` cannot stop a running task. So each
worker is a fresh interpreter (never a fork of the threaded server) with a pipe: a check that
exceeds its timeout gets its worker killed and replaced. Each check blocks one thread of a small
executor, never the event loop; the pool is not bound to an event loop.

A worker that dies during a check (killed from outside, out of memory) costs one retry on a new
worker; a second death on the same answer scores it 0, like a timeout.

This module is also the workers' entry point, so its top level imports only the standard library
(and `forms`, which does too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from io import StringIO
from multiprocessing.connection import Connection
from pathlib import Path

from gymhall.envs.math.forms import form_error, written_answer

__all__ = ["Check", "VerifierPool", "grade", "strip_delimiters"]

logger = logging.getLogger("gymhall.envs.math")

_READY = "ready"
_STARTUP_TIMEOUT_S = 120.0  # importing SymPy on a loaded machine can take a while
_STOP_TIMEOUT_S = 2.0
_IMPORT_ROOT = str(Path(__file__).resolve().parents[3])  # the directory holding the gymhall package
_PYTHONPATH = os.environ.get("PYTHONPATH", "")


@dataclass(frozen=True)
class Check:
    """One answer checked: the reward, the answer extracted, math-verify's verdict and why the form was refused.

    `equal` is math-verify's verdict alone (1.0 or 0.0); `reward` is `equal` unless the answer is not
    in the form the row asks for (`form_error` says why). `timed_out`: the check ran out of time;
    `crashed`: its worker died twice over (both count against the answer: reward 0).
    """

    reward: float
    extracted_answer: str | None
    timed_out: bool = False
    form_error: str | None = None
    equal: float | None = None
    crashed: bool = False

    @classmethod
    def of(cls, equal: float, extracted_answer: str | None, form_error: str | None) -> Check:
        """The check of a graded answer: rewarded only when equal and in form."""
        return cls(0.0 if form_error else equal, extracted_answer, form_error=form_error, equal=equal)


def strip_delimiters(answer: str) -> str:
    r"""`answer` without one outer pair of math delimiters, `\(...\)` or `$...$`: they stop `\boxed{}` parsing."""
    text = answer.strip()
    if text.startswith("\\(") and text.endswith("\\)"):
        text = text[2:-2].strip()
    if len(text) > 1 and text.startswith("$") and text.endswith("$"):
        text = text[1:-1].strip()
    return text


def grade(expected_answer: str, generated: str, form: str | None = None) -> tuple[float, str | None, str | None]:
    r"""math-verify's verdict on `generated` against `expected_answer`, and why its form is refused (if it is).

    The expected answer is read as LaTeX inside `\boxed{}`; the generated text is searched for a
    LaTeX answer (`\boxed{}` first) or a plain expression, as NeMo Gym's math_with_judge does.
    With a `form` (see `gymhall.envs.math.forms`), the answer as written must also be in that form;
    for the `interval` form an inequality in one variable is compared as the set it describes.
    Returns math-verify's verdict (1.0 or 0.0), the extracted answer (the first extracted form that
    matches, else the first one found, else None) and the form error (None: in form, or no form).
    Runs in a worker process: it may take arbitrarily long.
    """
    from math_verify import parse, verify  # type: ignore[import-untyped]
    from math_verify.errors import TimeoutException  # type: ignore[import-untyped]
    from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig  # type: ignore[import-untyped]

    try:
        # math-verify prints and logs its own diagnostics; the server's output is not the place.
        with contextlib.redirect_stdout(StringIO()), contextlib.redirect_stderr(StringIO()):
            gold = parse("\\boxed{" + strip_delimiters(expected_answer) + "}", [LatexExtractionConfig()])
            found = parse(generated, [ExprExtractionConfig(), LatexExtractionConfig()])
            if not gold:
                return 0.0, None, None
            equal = bool(verify(gold, found)) or (form == "interval" and _same_set(gold[0], found))
            answers = [str(form) for form in found]
            golds = [str(form) for form in gold]
            matching = next((a for a in answers if any(verify(g, a) for g in golds)), None)
            written = written_answer(generated, next((a for a in found if isinstance(a, str)), None))
            problem = form_error(form, written, _exact(gold[0])) if form and written is not None else None
        return float(equal), matching if matching is not None else (answers[0] if answers else None), problem
    # math-verify's own timeouts raise TimeoutException, a BaseException it does not catch itself.
    except (Exception, TimeoutException):
        return 0.0, None, None


def _exact(value: object) -> Fraction | None:
    """`value` (a SymPy object) as a Fraction when it is a rational number."""
    numerator, denominator = getattr(value, "p", None), getattr(value, "q", None)
    return Fraction(int(numerator), int(denominator)) if isinstance(numerator, int) and denominator else None


def _same_set(gold: object, found: list[object]) -> bool:
    """Whether an inequality in one variable (`x > 2`, `-1 < x \\le 3`) describes the gold interval."""
    relation = found[0] if found else None
    symbols = getattr(relation, "free_symbols", ())
    if relation is None or len(symbols) != 1 or not hasattr(relation, "as_set"):
        return False
    try:
        return bool(relation.as_set() == gold)
    except Exception:  # not a relation SymPy can solve
        return False


def _serve(connection: Connection) -> None:
    """A worker's life: import math-verify, say so, then grade each job until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which stops its workers
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    import math_verify  # noqa: F401 - paid once here, not in the first check's time budget

    connection.send(_READY)
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):  # the server went away
            return
        if job is None:
            return
        connection.send(grade(*job))


class _Worker:
    """One worker process and the server's end of its pipe.

    Started as `python -m` of this module rather than with multiprocessing's "spawn", which would
    re-run the server's `__main__` in the child (breaking scripts without a main guard).
    """

    def __init__(self) -> None:
        self.connection, child = multiprocessing.Pipe(duplex=True)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(child.fileno())],
                pass_fds=[child.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_IMPORT_ROOT, _PYTHONPATH]))},
            )
        finally:
            child.close()
        try:
            ready = self.connection.poll(_STARTUP_TIMEOUT_S) and self.connection.recv() == _READY
        except (EOFError, OSError):  # it exited: math-verify failed to import (its stderr says why)
            ready = False
        if not ready:
            self.kill()
            raise RuntimeError(f"A math-verify worker did not start within {_STARTUP_TIMEOUT_S:g} s; see its output.")

    def run(
        self, expected_answer: str, generated: str, form: str | None, timeout_s: float
    ) -> tuple[float, str | None, str | None] | None:
        """The worker's result, or None when it ran out of time (the worker is then unusable)."""
        self.connection.send((expected_answer, generated, form))
        if not self.connection.poll(timeout_s):
            return None
        result: tuple[float, str | None, str | None] = self.connection.recv()
        return result

    def ask_to_stop(self) -> None:
        """Tell the worker to exit after its current job."""
        with contextlib.suppress(OSError, ValueError):
            self.connection.send(None)

    def stop(self) -> None:
        """Wait a moment for the worker to exit, then kill it if it has not."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(_STOP_TIMEOUT_S)
        self.kill()

    def kill(self) -> None:
        """Kill the worker and reap it (no zombie is left)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.connection.close()


def _shutdown(workers: set[_Worker], idle: list[_Worker], lock: threading.Lock, executor: ThreadPoolExecutor) -> None:
    with lock:
        everyone = list(workers)
        workers.clear()
        idle.clear()
    for worker in everyone:
        worker.ask_to_stop()
    for worker in everyone:
        worker.stop()
    executor.shutdown(wait=False, cancel_futures=True)


class VerifierPool:
    """Up to `workers` math-verify processes, started on first use; a check past `timeout_s` kills its worker.

    `close()` stops every worker; it also runs when the pool is garbage collected or the
    interpreter exits, so no worker outlives the server.
    """

    def __init__(self, workers: int, timeout_s: float) -> None:
        if workers < 1 or timeout_s <= 0:
            raise ValueError("A verifier pool needs at least one worker and a positive timeout.")
        self.workers = workers
        self.timeout_s = timeout_s
        self.started = 0  # worker processes started so far (a timed-out check starts a replacement)
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._idle: list[_Worker] = []
        self._closed = False
        # As many threads as workers: a check never waits for a thread while a worker is free.
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gymhall-math-verify")
        self._finalizer = weakref.finalize(self, _shutdown, self._all, self._idle, self._lock, self._executor)

    @property
    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        with self._lock:
            return sorted(worker.process.pid for worker in self._all)

    async def check(self, expected_answer: str, generated: str, form: str | None = None) -> Check:
        """Grade `generated` against `expected_answer` (and `form`, if any) in a worker, off the event loop."""
        if self._closed:
            raise RuntimeError("This verifier pool is closed.")
        loop = asyncio.get_running_loop()
        job: Callable[[], Check] = lambda: self._check(expected_answer, generated, form)  # noqa: E731
        return await loop.run_in_executor(self._executor, job)

    def close(self) -> None:
        """Stop every worker and the threads; further checks are refused. Closing twice is fine."""
        self._closed = True
        self._finalizer()

    def _check(self, expected_answer: str, generated: str, form: str | None) -> Check:
        # A worker that dies mid-check (killed from outside, out of memory) is the machine's fault
        # the first time: the check is run again on a new worker. Twice is the answer's fault.
        for attempt in (1, 2):
            worker = self._take(fresh=attempt > 1)
            try:
                result = worker.run(expected_answer, generated, form, self.timeout_s)
                break
            except (EOFError, OSError):
                self._discard(worker)
                if self._closed:
                    raise RuntimeError("The verifier pool was closed during the check.") from None
                if attempt == 1:
                    logger.warning("a math-verify worker died during a check; checking again on a new worker")
        else:
            logger.warning("a math-verify worker died again on the same answer; the answer scores 0")
            return Check(0.0, None, crashed=True)
        if result is None:
            self._discard(worker)
            logger.warning("math-verify took over %g s on an answer; its worker was replaced", self.timeout_s)
            return Check(0.0, None, timed_out=True)
        with self._lock:
            if worker in self._all:
                self._idle.append(worker)
        return Check.of(*result)

    def _take(self, fresh: bool = False) -> _Worker:
        """An idle worker, or a new one (always a new one if `fresh`)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("This verifier pool is closed.")
            if self._idle and not fresh:
                return self._idle.pop()
            self.started += 1
        worker = _Worker()
        with self._lock:
            if self._closed:  # closed while it started
                worker.kill()
                raise RuntimeError("This verifier pool is closed.")
            self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.kill()


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
