"""Run the servers of a stack, one process each: start them, relay their output, watch them, stop them together.

`gymhall.stack.plan.plan_servers` turns a loaded `GymConfig` into one `ServerPlan` per instance;
`Launcher` runs the plans:

    plans = plan_servers(load_config(["configs/weather.yaml"]))
    with Launcher(plans) as launcher:      # returns once every server answers GET / with 200
        print(launcher.urls)
    # leaving the block stops every server

`Launcher.run()` is what `gymhall serve` calls: start, print a table, wait for Ctrl-C or SIGTERM.

Unlike NeMo Gym's launcher there is no Ray and no per-server virtualenv: children run with this
Python, so their dependencies must be installed in the current environment.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import IO, Any, TextIO

from gymhall.exceptions import ServerStartError
from gymhall.stack.head import HeadServer, StartedServer
from gymhall.stack.plan import ServerPlan

__all__ = ["Launcher", "ServerStartError", "render_table"]

_TAIL_LINES = 20  # output lines kept per server for error reports
_POLL_INTERVAL_S = 0.1
_PROBE_TIMEOUT_S = 2.0  # one health request; the total wait is `ready_timeout`
_RELAY_JOIN_S = 2.0  # how long to wait for a finished child's last output lines
_TABLE_HEADERS = ("instance", "kind", "URL")


def render_table(plans: Sequence[ServerPlan]) -> str:
    """The plans as a plain-text table, one row per server: instance, kind and URL in aligned columns.

    Plain ASCII, never truncated: a URL must stay whole to be copied, and the text must survive a
    terminal that is not UTF-8 (a write that fails there would lose the table).
    """
    rows: list[tuple[str, ...]] = [_TABLE_HEADERS, *((plan.name, plan.kind, plan.url) for plan in plans)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_TABLE_HEADERS))]
    rows.insert(1, tuple("-" * width for width in widths))
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(line.rstrip() for line in lines)


@dataclass
class _Child:
    """A started server process and the thread relaying its output."""

    plan: ServerPlan
    process: subprocess.Popen[bytes]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))
    relay: threading.Thread | None = None
    started_at: float = field(default_factory=time.time)

    def running(self) -> bool:
        return self.process.poll() is None


class Launcher:
    """Runs one process per `ServerPlan`, relays their output and stops them together.

    Every child gets its own process group, so a Ctrl-C in the terminal reaches only the launcher,
    which then stops the children in order (SIGTERM, then SIGKILL after `stop_grace` seconds).
    A `head` server (NeMo Gym's, `gymhall.stack.head`) serves from a thread while they run.
    """

    def __init__(
        self,
        plans: Sequence[ServerPlan],
        *,
        ready_timeout: float = 30.0,
        stop_grace: float = 3.0,
        out: TextIO | None = None,
        err: TextIO | None = None,
        head: HeadServer | None = None,
    ) -> None:
        self.plans = list(plans)
        self.head = head
        self.ready_timeout = ready_timeout
        self.stop_grace = stop_grace
        self._out = out if out is not None else sys.stdout
        self._err = err if err is not None else sys.stderr
        self._children: list[_Child] = []
        self._lock = threading.Lock()  # one writer at a time, so lines never interleave
        self._stop_requested = threading.Event()
        self._force = threading.Event()  # a second Ctrl-C: skip the grace period
        self._used = False

    @property
    def urls(self) -> dict[str, str]:
        """Base URL of every server, by instance name."""
        return {plan.name: plan.url for plan in self.plans}

    def __enter__(self) -> Launcher:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every server and wait until each answers `GET /` with 200.

        Raises `ServerStartError` (after stopping the others) if one exits or is not ready within
        `ready_timeout` seconds. Returns early, servers partly up, if `request_stop` is called.
        """
        if self._used:
            raise RuntimeError("a Launcher starts its servers once; create a new Launcher to start them again")
        self._used = True
        try:
            if self.head is not None:  # first, as NeMo Gym's launcher: a busy port stops the stack early
                self.head.start()
            for plan in self.plans:
                self._spawn(plan)
            self._wait_ready()
            if self.head is not None and not self._stop_requested.is_set():
                self.head.mark_ready([StartedServer(c.plan, c.process.pid, c.started_at) for c in self._children])
        except BaseException:
            self.stop()
            raise

    def request_stop(self) -> None:
        """Ask `start` and `run` to return; safe to call from a signal handler or another thread."""
        if self._stop_requested.is_set():
            self._force.set()
        self._stop_requested.set()

    def stop(self) -> None:
        """Stop every server: SIGTERM to each process group, SIGKILL to what is left after the grace."""
        for child in self._children:
            if child.running():
                _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        while any(c.running() for c in self._children) and time.monotonic() < deadline:
            if self._force.wait(0.02):
                break
        for child in self._children:
            if child.running():
                self._say(f"gymhall: {child.plan.name} did not stop within {self.stop_grace:g} s; killing it")
                _signal_group(child.process, signal.SIGKILL)
        for child in self._children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=2.0)
            if child.relay is not None:
                child.relay.join(_RELAY_JOIN_S)
            # A relay still reading means a grandchild holds the pipe; closing it under the reader
            # would block on the reader's buffer lock, so leave the pipe to the daemon thread.
            if child.process.stdout is not None and not (child.relay and child.relay.is_alive()):
                child.process.stdout.close()
        self._children.clear()
        if self.head is not None:
            self.head.stop()

    def run(self) -> int:
        """Start, print the servers' URLs, and serve until Ctrl-C or SIGTERM; returns the exit code.

        0 after a requested stop; 1 if a server fails to start or exits while the others run.
        """
        with self._signals_request_stop():
            try:
                return self._serve()
            finally:
                self.stop()  # a no-op after a clean stop; on any other exit, leave no server behind

    def _serve(self) -> int:
        try:
            self.start()
        except ServerStartError as exc:
            self._report(exc)
            return 1
        if self._stop_requested.is_set():
            self._say("gymhall: stopping")
            return 0
        self._write(self._out, self._table())
        failed: _Child | None = None
        while not self._stop_requested.wait(0.2):
            failed = next((c for c in self._children if not c.running()), None)
            if failed is not None:
                error = self._exited_error(failed, "while running")
                self.stop()
                self._report(error)
                return 1
        count = len(self._children)
        self._say(f"gymhall: stopping {count} server{'s' if count != 1 else ''}")
        started = time.monotonic()
        self.stop()
        self._say(f"gymhall: all servers stopped ({time.monotonic() - started:.1f} s)")
        return 0

    # -- internals --------------------------------------------------------------------------------

    def _spawn(self, plan: ServerPlan) -> None:
        # Unbuffered, so lines arrive as they are printed and none is lost if the child is killed.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        try:
            process = subprocess.Popen(
                plan.command,
                cwd=plan.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: a terminal Ctrl-C reaches only the launcher
            )
        except OSError as exc:
            raise ServerStartError(
                f"cannot start server {plan.name!r}: {exc}",
                f"check that {plan.command[0]} and {plan.cwd} exist",
                server=plan.name,
            ) from exc
        child = _Child(plan, process)
        child.relay = threading.Thread(
            target=self._relay, args=(child,), name=f"gymhall-relay-{plan.name}", daemon=True
        )
        self._children.append(child)
        child.relay.start()

    def _relay(self, child: _Child) -> None:
        stream: IO[bytes] | None = child.process.stdout
        assert stream is not None
        prefix = f"({child.plan.name}) "
        with contextlib.suppress(OSError, ValueError):  # the pipe is closed by `stop`
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                child.tail.append(line)
                self._write(self._out, prefix + line)

    def _wait_ready(self) -> None:
        import httpx

        pending = list(self._children)
        deadline = time.monotonic() + self.ready_timeout
        # trust_env=False: a configured HTTP proxy must not see loopback health checks.
        with httpx.Client(trust_env=False, timeout=_PROBE_TIMEOUT_S) as client:
            while pending and not self._stop_requested.is_set():
                for child in list(pending):
                    if not child.running():
                        raise self._exited_error(child, "before it was ready")
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(child.plan.url + "/").status_code == 200:
                            pending.remove(child)
                if not pending:
                    return
                if time.monotonic() >= deadline:
                    child = pending[0]
                    raise ServerStartError(
                        f"server {child.plan.name!r} did not answer GET {child.plan.url}/ with 200 within "
                        f"{self.ready_timeout:g} s",
                        "check its output; if it is only slow to start, raise --ready-timeout",
                        server=child.plan.name,
                        output=list(child.tail),
                    )
                self._stop_requested.wait(_POLL_INTERVAL_S)

    def _exited_error(self, child: _Child, when: str) -> ServerStartError:
        if child.relay is not None:
            child.relay.join(_RELAY_JOIN_S)  # collect the lines it printed before exiting
        code = child.process.returncode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        plan = child.plan
        problem = f"server {plan.name!r} ({plan.entrypoint}) {how} {when}"
        fix = (
            "correct the error in its output; to run it alone:\n"
            f"    cd {shlex.quote(str(plan.cwd))} && {plan.display_command()}"
        )
        return ServerStartError(problem, fix, server=plan.name, output=list(child.tail))

    def _report(self, error: ServerStartError) -> None:
        lines = [f"gymhall: error: {error.problem}"]
        if error.output:
            lines[0] += f"; its last {len(error.output)} output lines:"
            lines += [f"    {line}" for line in error.output]
        lines.append(f"  Fix: {error.fix}")
        self._write(self._err, "\n".join(lines))

    def _table(self) -> str:
        """The instance/kind/URL table and the "ready" line, as text."""
        count = len(self.plans)
        ready = f"gymhall: all {count} server{'s' if count != 1 else ''} ready (Ctrl-C to stop)"
        if self.head is None:
            return render_table(self.plans) + "\n" + ready
        head = f"NeMo Gym's head server on {self.head.url} (for ng_collect_rollouts, gym eval run --no-serve)"
        lines = [
            render_table(self.plans),
            f"gymhall: {head}",
            *([f"gymhall: {self.head.note}"] if self.head.note else []),
        ]
        return "\n".join([*lines, ready])

    def _say(self, message: str) -> None:
        self._write(self._err, message)

    def _write(self, stream: TextIO, text: str) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):  # a closed or broken terminal
            stream.write(text + "\n")
            stream.flush()

    @contextlib.contextmanager
    def _signals_request_stop(self) -> Iterator[None]:
        """While inside, SIGINT and SIGTERM call `request_stop` (only possible in the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            self.request_stop()

        previous: dict[signal.Signals, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handler)
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    # The child leads its own group (start_new_session), so this also reaches its own children.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
