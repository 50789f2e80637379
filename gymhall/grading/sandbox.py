"""Run untrusted Python in a separate, limited process: `await Sandbox().run(code) -> SandboxResult`.

    sandbox = Sandbox(pool_size=4, limits=SandboxLimits(wall_seconds=5))
    result = await sandbox.run("print(input()[::-1])", stdin=b"abc\\n")
    assert result.stdout == b"cba\\n" and result.exit_code == 0

Every run gets a fresh temporary working directory (removed afterwards), an environment holding only
PATH, HOME, TMPDIR and a UTF-8 locale (nothing of the server's, so no secrets), and the interpreter in
isolated mode (`python -I -S`: no site-packages, no user site, no PYTHON* variables). A supervisor
(gymhall.grading.bootstrap, trusted: it runs no untrusted code) confines the run once, then starts a
fresh child per input; the child sets the limits, drops to the sandbox user and executes the code as
`__main__`. `run_each(code, inputs)` runs the code once per input, each child holding only its own
input, on its stdin; `run` is `run_each` with one input.

Limits (`SandboxLimits`, per child): CPU time (RLIMIT_CPU), memory (RLIMIT_AS and RLIMIT_DATA), file
size (RLIMIT_FSIZE), open files, no core dumps, a wall-clock limit after which the supervisor kills the
child and everything it started, and an output cap (at most `output_bytes` of stdout and of stderr; more
kills it). The whole run has one wall budget (at most the rollout's time left, `gymhall.wire.deadline`),
enforced from this process by killing the sandbox's process group (and cgroup). A non-zero exit, a crash
or a kill is a `SandboxResult`, never an exception.

Isolation is chosen once per interpreter by probing the machine (gymhall.grading.isolation holds the
mechanics and explains each choice; `describe()` reports it):

- "namespace": new mount, network and PID namespaces (and a user namespace unless gymhall runs as root).
  The filesystem is a private tmpfs of `disk_bytes` holding the working directory (at its host path)
  and /tmp, with read-only, nosuid views of /usr and the interpreter's prefix, four /dev nodes and a
  /proc of the sandbox's own processes: no dataset, no gymhall source, no /etc, no /sys (so no
  cgroup files), no host unix sockets; everything written is gone when the run ends. Where gymhall
  runs as root the code runs as `nobody` (uid 65534), which owns nothing of the host's.
- "audit-hook" (the fallback where namespaces are off): an audit hook refuses sockets, ctypes, exec
  and spawn (a new interpreter would have no hook), and file access outside the working directory
  and the standard library. Writes are limited per file (RLIMIT_FSIZE), not in total; the code runs
  as `nobody` only where gymhall runs as root and `nobody` can read the standard library. Audit hooks
  are a best effort, not a security boundary: run hostile code with namespaces, or in a container.

Fork bombs: RLIMIT_NPROC, a pids cgroup, or the audit hook refusing fork (see isolation). Concurrency:
at most `pool_size` runs at once (an `asyncio.Semaphore` per event loop), all I/O is asyncio subprocess
pipes, and file-system clean-up runs in a worker thread: a server's event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gymhall.exceptions import ConfigError
from gymhall.grading.isolation import (
    CPU_LIMIT_EXIT,
    LEFTOVER_PREFIX,
    Cgroup,
    bootstrap_config,
    child_command,
    child_env,
    namespaces_available,
    pids_cgroup_root,
    sandbox_user,
    sweep_leftovers,
)
from gymhall.grading.supervision import (
    Frames,
    Protocol,
    feed,
    input_frames,
    kill,
    read_capped,
    remove_tree,
    write_files,
)
from gymhall.wire.deadline import time_left

__all__ = ["Sandbox", "SandboxLimits", "SandboxResult", "namespaces_available", "pids_cgroup_root"]

MiB = 1024 * 1024
_STARTUP_SECONDS = 5.0  # the sandbox's own start (namespaces, interpreter, supervisor) on a loaded machine

Isolation = Literal["auto", "namespace", "audit-hook"]


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed run."""

    wall_seconds: float = 10.0  # then the whole process group is killed
    cpu_seconds: float = 10.0  # RLIMIT_CPU, rounded up; SIGKILL one second later if SIGXCPU is ignored
    memory_bytes: int = 512 * MiB  # RLIMIT_AS and RLIMIT_DATA
    max_processes: int = 16  # processes and threads, the first one included
    file_size_bytes: int = 16 * MiB  # RLIMIT_FSIZE: the largest file the code may write
    open_files: int = 256  # RLIMIT_NOFILE
    output_bytes: int = 1 * MiB  # per stream; more kills the run
    disk_bytes: int = 64 * MiB  # the private tmpfs holding the working directory (mount namespace only)

    def __post_init__(self) -> None:
        for name in "wall_seconds cpu_seconds memory_bytes max_processes file_size_bytes open_files disk_bytes".split():
            if getattr(self, name) <= 0:
                raise ValueError(f"SandboxLimits.{name} must be positive, not {getattr(self, name)!r}.")
        if self.output_bytes < 0:
            raise ValueError(f"SandboxLimits.output_bytes must be >= 0, not {self.output_bytes!r}.")


@dataclass(frozen=True)
class SandboxResult:
    """What one run did. A non-zero exit is a result like any other."""

    exit_code: int | None  # negative: killed by that signal; None: could not be reaped
    stdout: bytes
    stderr: bytes
    timed_out: bool  # the wall timeout struck
    killed: str | None  # "timeout", "output_limit", "cpu_limit", or None
    duration: float  # wall seconds from start to exit
    isolation: str = ""  # "namespace" or "audit-hook": how the network was cut off

    @property
    def ok(self) -> bool:
        """Whether the code exited 0 on its own."""
        return self.exit_code == 0 and self.killed is None

    def text(self, stream: Literal["stdout", "stderr"] = "stdout") -> str:
        """A stream decoded as UTF-8 (invalid bytes replaced)."""
        return getattr(self, stream).decode("utf-8", errors="replace")  # type: ignore[no-any-return]


class Sandbox:
    """Runs untrusted Python code in limited, isolated child processes; at most `pool_size` at once.

    `isolation`: "auto" (namespaces where the machine allows them, else the audit hook), or force
    "namespace" (a `ConfigError` if unavailable) or "audit-hook".
    """

    def __init__(
        self,
        *,
        pool_size: int = 4,
        limits: SandboxLimits | None = None,
        isolation: Isolation = "auto",
        python: str | None = None,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"Sandbox pool_size must be at least 1, not {pool_size}.")
        if isolation not in ("auto", "namespace", "audit-hook"):
            raise ValueError(f"Sandbox isolation must be 'auto', 'namespace' or 'audit-hook', not {isolation!r}.")
        self.pool_size = pool_size
        self.limits = limits or SandboxLimits()
        self.python = python or sys.executable
        self._requested: Isolation = isolation
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    # -- what isolation this machine gives -------------------------------------------------------

    @functools.cached_property
    def network_isolation(self) -> Literal["namespace", "audit-hook"]:
        """How the network is cut off: "namespace" (a new, empty network namespace) or "audit-hook"."""
        if self._requested == "audit-hook":
            return "audit-hook"
        if namespaces_available(self.python):
            return "namespace"
        if self._requested == "namespace":
            raise ConfigError(
                "Sandbox isolation 'namespace' was asked for, but `unshare --user --net --pid` does not work "
                "here (unprivileged user namespaces may be disabled).\n  Fix: use isolation='auto'."
            )
        return "audit-hook"

    @functools.cached_property
    def process_limit(self) -> Literal["rlimit", "cgroup", "audit-hook"]:
        """How fork bombs are contained: "rlimit" (RLIMIT_NPROC), "cgroup" (pids.max) or "audit-hook"."""
        if os.geteuid() != 0:
            # In a fresh user namespace RLIMIT_NPROC counts only the sandbox; outside one, the user's
            # other processes too, so the hook also refuses forks in that case (see the module docstring).
            return "rlimit" if self.network_isolation == "namespace" else "audit-hook"
        if pids_cgroup_root() is not None:
            return "cgroup"
        return "audit-hook"

    def describe(self) -> dict[str, Any]:
        """The active isolation, for logs and health answers."""
        return {
            "network_isolation": self.network_isolation,
            "process_limit": self.process_limit,
            "filesystem": "mount-namespace" if self.network_isolation == "namespace" else "audit-hook",
            "user": "nobody" if sandbox_user(self.network_isolation == "namespace") is not None else "server's",
            "pool_size": self.pool_size,
        }

    # -- running ---------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        semaphore = self._slots.get(loop)
        if semaphore is None:
            semaphore = self._slots[loop] = asyncio.Semaphore(self.pool_size)
        async with semaphore:
            yield

    def _bootstrap_config(
        self, limits: SandboxLimits, cgroup: Cgroup | None, args: Sequence[str], inputs: int, preload: Sequence[str]
    ) -> dict[str, Any]:
        cpu = max(1, math.ceil(limits.cpu_seconds))
        rlimits: list[tuple[str, int, int]] = [
            ("RLIMIT_CPU", cpu, cpu + 1),
            ("RLIMIT_AS", limits.memory_bytes, limits.memory_bytes),
            ("RLIMIT_DATA", limits.memory_bytes, limits.memory_bytes),
            ("RLIMIT_FSIZE", limits.file_size_bytes, limits.file_size_bytes),
            ("RLIMIT_NOFILE", limits.open_files, limits.open_files),
            ("RLIMIT_CORE", 0, 0),
        ]
        return bootstrap_config(
            rlimits,
            max_processes=limits.max_processes,
            namespaced=self.network_isolation == "namespace",
            refuse_processes=self.process_limit == "audit-hook",
            cgroup=cgroup,
            args=args,
            python=self.python,
            inputs=inputs,
            wall_seconds=limits.wall_seconds,
            output_bytes=limits.output_bytes,
            disk_bytes=limits.disk_bytes,
            preload=preload,
        )

    async def run(
        self,
        code: str,
        *,
        stdin: bytes = b"",
        files: Mapping[str, str | bytes] | None = None,
        args: Sequence[str] = (),
        limits: SandboxLimits | None = None,
        on_stdout: Callable[[bytes], None] | None = None,
    ) -> SandboxResult:
        """Run `code` as a script (`main.py` in a fresh directory, with `files` beside it) and report what it did.

        `stdin` is fed to the program; `args` become `sys.argv[1:]`; `limits` override the sandbox's own;
        `on_stdout` is called with the program's stdout once it has ended.
        Waits for a free slot when `pool_size` runs are under way.
        """
        (result,) = await self.run_each(code, [stdin], files=files, args=args, limits=limits)
        if on_stdout is not None:
            on_stdout(result.stdout)
        return result

    async def run_each(
        self,
        code: str,
        inputs: Sequence[bytes],
        *,
        files: Mapping[str, str | bytes] | None = None,
        args: Sequence[str] = (),
        limits: SandboxLimits | None = None,
        budget_seconds: float | None = None,
        preload: Sequence[str] = (),
        stop: Callable[[SandboxResult], bool] | None = None,
    ) -> list[SandboxResult]:
        """Run `code` once per input, each in a fresh child that holds only that input (on its stdin).

        `limits` apply to each child (`wall_seconds` enforced by the run's supervisor, which runs no
        untrusted code). `budget_seconds` (default: every input's wall time, plus start-up) is the whole
        run's wall budget, enforced from this process by killing the sandbox: the inputs it leaves
        unrun get no result. `preload` names standard-library modules imported once, before the first
        fork. `stop(result)` returning True ends the run after that input. The results are in input order.
        """
        limits = limits or self.limits
        if "process_limit" not in self.__dict__:
            # Probing runs a subprocess once per interpreter; keep it off the event loop.
            await asyncio.to_thread(lambda: self.process_limit)
        if budget_seconds is None:
            budget_seconds = limits.wall_seconds * len(inputs) + _STARTUP_SECONDS
        if (left := time_left()) is not None:
            budget_seconds = min(budget_seconds, left)
        await asyncio.to_thread(sweep_leftovers)  # once per process: what killed servers left behind
        async with self._slot():
            workdir = await asyncio.to_thread(tempfile.mkdtemp, prefix=f"{LEFTOVER_PREFIX}{os.getpid()}-")
            try:
                await asyncio.to_thread(write_files, workdir, code, files or {})
                run = _Run(self, workdir, limits, len(inputs), stop)
                return await run.execute(input_frames(inputs), args, budget_seconds, preload)
            finally:
                await asyncio.to_thread(remove_tree, workdir)


class _Run:
    """One sandboxed process: its supervisor's frames become results, until done, stopped or out of budget."""

    def __init__(
        self,
        sandbox: Sandbox,
        workdir: str,
        limits: SandboxLimits,
        inputs: int,
        stop: Callable[[SandboxResult], bool] | None,
    ) -> None:
        self.sandbox, self.workdir, self.limits, self.inputs, self.stop = sandbox, workdir, limits, inputs, stop
        self.results: list[SandboxResult] = []
        self.finished = asyncio.Event()  # every input answered, or `stop` said so
        self.frames = Frames(self._on_frame)

    def _on_frame(self, header: dict[str, Any], stdout: bytes, stderr: bytes) -> None:
        code, killed = header["exit"], header["killed"]
        if killed is None and code in (CPU_LIMIT_EXIT, -signal.SIGXCPU):
            killed = "cpu_limit"
        result = SandboxResult(
            exit_code=code,
            stdout=stdout,
            stderr=stderr,
            timed_out=killed == "timeout",
            killed=killed,
            duration=float(header["duration"]),
            isolation=self.sandbox.network_isolation,
        )
        self.results.append(result)
        if len(self.results) >= self.inputs or (self.stop is not None and self.stop(result)):
            self.finished.set()

    async def execute(
        self, frames: bytes, args: Sequence[str], budget: float, preload: Sequence[str]
    ) -> list[SandboxResult]:
        sandbox, limits = self.sandbox, self.limits
        root = pids_cgroup_root() if sandbox.process_limit == "cgroup" else None
        cgroup = Cgroup(root, limits.max_processes) if root is not None else None
        process: asyncio.subprocess.Process | None = None
        try:
            config = await asyncio.to_thread(sandbox._bootstrap_config, limits, cgroup, args, self.inputs, preload)
            loop = asyncio.get_running_loop()
            started = time.monotonic()
            transport, protocol = await loop.subprocess_exec(
                lambda: Protocol(loop),
                *child_command(sandbox.python, config, namespaced=sandbox.network_isolation == "namespace"),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.workdir,
                env=child_env(self.workdir),
                start_new_session=True,  # its own process group, so one killpg reaches every descendant
            )
            process = asyncio.subprocess.Process(transport, protocol, loop)
            overflow = asyncio.Event()
            cap = self.inputs * (2 * limits.output_bytes + 4096)
            readers = [
                asyncio.create_task(read_capped(process.stdout, cap, overflow, self.frames.feed)),
                asyncio.create_task(read_capped(process.stderr, limits.output_bytes, overflow)),
            ]
            feeder = asyncio.create_task(feed(process, frames))
            # Not `process.wait()`: it also waits for the pipes, which a leftover descendant may hold open.
            waits = [asyncio.create_task(event.wait()) for event in (protocol.exited, overflow, self.finished)]
            await asyncio.wait(waits, timeout=budget, return_when=asyncio.FIRST_COMPLETED)
            if not protocol.exited.is_set() and not overflow.is_set() and not self.finished.is_set():
                killed: str | None = "timeout"
            else:
                killed = "output_limit" if overflow.is_set() and not self.finished.is_set() else None
            if self.finished.is_set() and len(self.results) < self.inputs:
                kill(process, cgroup)  # stopped early: the supervisor may be mid-way through the next input
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(protocol.exited.wait(), 0 if killed else 5.0)
            kill(process, cgroup)  # descendants may outlive the first process and hold the pipes
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(protocol.exited.wait(), 5.0)
            for waiter in (*waits, feeder):
                waiter.cancel()
            done, pending = await asyncio.wait(readers, timeout=2.0)
            for task in pending:
                task.cancel()
            if len(self.results) < self.inputs and not self.finished.is_set():
                # The supervisor did not answer this input: the budget, or a crash of the sandbox itself.
                stderr = readers[1].result() if readers[1] in done else b""
                self.results.append(
                    SandboxResult(
                        exit_code=process.returncode,
                        stdout=b"",
                        stderr=stderr,
                        timed_out=killed == "timeout",
                        killed=killed,
                        duration=time.monotonic() - started,
                        isolation=sandbox.network_isolation,
                    )
                )
            return self.results
        finally:
            if process is not None:
                if process.returncode is None:
                    kill(process, cgroup)  # cancelled mid-run: leave nothing running
                # Pipes left unread after an overflow would otherwise stay open until garbage collection.
                transport.close()
            if cgroup is not None:
                await cgroup.remove()
