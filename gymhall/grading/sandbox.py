"""Run untrusted Python in a separate, limited process: `await Sandbox().run(code) -> SandboxResult`.

    sandbox = Sandbox(pool_size=4, limits=SandboxLimits(wall_seconds=5))
    result = await sandbox.run("print(input()[::-1])", stdin=b"abc\\n")
    assert result.stdout == b"cba\\n" and result.exit_code == 0

Every run gets a fresh temporary working directory (removed afterwards), an environment holding only
PATH, HOME, TMPDIR and a UTF-8 locale (nothing of the server's, so no secrets), and the interpreter in
isolated mode (`python -I -S`: no site-packages, no user site, no PYTHON* variables). A tiny bootstrap
runs first inside the child, sets the limits, then executes the code as `__main__`.

Limits (`SandboxLimits`): CPU time (RLIMIT_CPU), memory (RLIMIT_AS and RLIMIT_DATA), file size
(RLIMIT_FSIZE), open files, no core dumps, a wall-clock timeout after which the whole process group is
killed with SIGKILL, and an output cap (at most `output_bytes` of stdout and of stderr are read; more
kills the run). A non-zero exit, a crash or a kill is a `SandboxResult`, never an exception.

Isolation (new user, network and PID namespaces where the machine allows them, else an audit hook;
RLIMIT_NPROC, a pids cgroup or the audit hook against fork bombs) is chosen once per interpreter by
probing the machine; gymhall.grading.isolation holds those mechanics and explains each choice, and
`network_isolation`, `process_limit` report it.

Concurrency: at most `pool_size` runs at once (an `asyncio.Semaphore` per event loop), all I/O is
asyncio subprocess pipes, and file-system clean-up runs in a worker thread, so a server's event loop
never blocks on a sandbox.

What this is not: a container. The code can read whatever the server's user can read, and write
where that user can write (within RLIMIT_FSIZE), though only inside the temporary directory is
cleaned up. Run the server as an unprivileged user, or use a container sandbox, for hostile code.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gymhall.exceptions import ConfigError
from gymhall.grading.isolation import (
    CPU_LIMIT_EXIT,
    Cgroup,
    bootstrap_config,
    child_command,
    child_env,
    namespaces_available,
    pids_cgroup_root,
)

__all__ = ["Sandbox", "SandboxLimits", "SandboxResult", "namespaces_available", "pids_cgroup_root"]

MiB = 1024 * 1024

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

    def __post_init__(self) -> None:
        for name in ("wall_seconds", "cpu_seconds", "memory_bytes", "max_processes", "file_size_bytes", "open_files"):
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


def _remove_tree(path: str) -> None:
    def retry_writable(function: Any, failed: str, _: Any) -> None:
        # The code may have made its files read-only; give the owner write access back and retry once.
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed), 0o700)
            os.chmod(failed, 0o700)
            function(failed)

    shutil.rmtree(path, onerror=retry_writable)
    if os.path.exists(path):
        shutil.rmtree(path, ignore_errors=True)


async def _read_capped(
    stream: asyncio.StreamReader | None,
    cap: int,
    overflow: asyncio.Event,
    on_chunk: Callable[[bytes], None] | None = None,
) -> bytes:
    if stream is None:
        return b""
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(64 * 1024):
        if size + len(chunk) > cap:
            chunk = chunk[: cap - size]
            overflow.set()
        chunks.append(chunk)
        size += len(chunk)
        if on_chunk is not None:
            on_chunk(chunk)
        if overflow.is_set():
            break
    return b"".join(chunks)


async def _feed(process: asyncio.subprocess.Process, data: bytes) -> None:
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if data:
            process.stdin.write(data)
            await process.stdin.drain()
        process.stdin.close()
        await process.stdin.wait_closed()


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

    def _bootstrap_config(self, limits: SandboxLimits, cgroup: Cgroup | None, args: Sequence[str]) -> dict[str, Any]:
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
        )

    def _command(self, config: Mapping[str, Any]) -> list[str]:
        return child_command(self.python, config, namespaced=self.network_isolation == "namespace")

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
        `on_stdout` is called with each chunk of stdout as it arrives (e.g. to time a program's progress).
        Waits for a free slot when `pool_size` runs are under way.
        """
        limits = limits or self.limits
        if "process_limit" not in self.__dict__:
            # Probing runs a subprocess once per interpreter; keep it off the event loop.
            await asyncio.to_thread(lambda: self.process_limit)
        async with self._slot():
            workdir = await asyncio.to_thread(tempfile.mkdtemp, prefix="gymhall-sandbox-")
            try:
                await asyncio.to_thread(_write_files, workdir, code, files or {})
                return await self._run_in(workdir, limits, stdin, args, on_stdout)
            finally:
                await asyncio.to_thread(_remove_tree, workdir)

    async def _run_in(
        self,
        workdir: str,
        limits: SandboxLimits,
        stdin: bytes,
        args: Sequence[str],
        on_stdout: Callable[[bytes], None] | None,
    ) -> SandboxResult:
        root = pids_cgroup_root() if self.process_limit == "cgroup" else None
        cgroup = Cgroup(root, limits.max_processes) if root is not None else None
        process: asyncio.subprocess.Process | None = None
        try:
            config = await asyncio.to_thread(self._bootstrap_config, limits, cgroup, args)
            loop = asyncio.get_running_loop()
            started = time.monotonic()
            transport, protocol = await loop.subprocess_exec(
                lambda: _Protocol(loop),
                *self._command(config),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=child_env(workdir),
                start_new_session=True,  # its own process group, so one killpg reaches every descendant
            )
            process = asyncio.subprocess.Process(transport, protocol, loop)
            overflow = asyncio.Event()
            readers = [
                asyncio.create_task(_read_capped(process.stdout, limits.output_bytes, overflow, on_stdout)),
                asyncio.create_task(_read_capped(process.stderr, limits.output_bytes, overflow)),
            ]
            feeder = asyncio.create_task(_feed(process, stdin))
            # Not `process.wait()`: it also waits for the pipes, which a leftover descendant may hold open.
            exited = asyncio.create_task(protocol.exited.wait())
            overflowed = asyncio.create_task(overflow.wait())
            await asyncio.wait({exited, overflowed}, timeout=limits.wall_seconds, return_when=asyncio.FIRST_COMPLETED)
            duration = time.monotonic() - started
            killed: str | None = None
            if overflow.is_set():
                killed = "output_limit"
            elif not exited.done():
                killed = "timeout"
            # Always: descendants may outlive the first process (outside a PID namespace) and hold the pipes.
            _kill(process, cgroup)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(exited, 5.0)
            overflowed.cancel()
            feeder.cancel()
            done, pending = await asyncio.wait(readers, timeout=2.0)
            for task in pending:
                task.cancel()
            stdout, stderr = (task.result() if task in done else b"" for task in readers)
            code = process.returncode
            if killed is None and code in (CPU_LIMIT_EXIT, -signal.SIGXCPU):
                killed = "cpu_limit"
            return SandboxResult(
                exit_code=code,
                stdout=stdout,
                stderr=stderr,
                timed_out=killed == "timeout",
                killed=killed,
                duration=duration,
                isolation=self.network_isolation,
            )
        finally:
            if process is not None:
                if process.returncode is None:
                    _kill(process, cgroup)  # cancelled mid-run: leave nothing running
                # Pipes left unread after an overflow would otherwise stay open until garbage collection.
                transport.close()
            if cgroup is not None:
                await cgroup.remove()


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The stream protocol of `asyncio.create_subprocess_exec`, plus an event set when the process exits."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=64 * 1024, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


def _write_files(workdir: str, code: str, files: Mapping[str, str | bytes]) -> None:
    base = Path(workdir)
    for name, content in {**files, "main.py": code}.items():
        target = (base / name).resolve()
        if base.resolve() not in target.parents:
            raise ValueError(f"Sandbox file {name!r} is outside the working directory; use a relative path.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)


def _kill(process: asyncio.subprocess.Process, cgroup: Cgroup | None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if cgroup is not None:
        cgroup.kill()
