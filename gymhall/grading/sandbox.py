"""Run untrusted Python in a separate, limited process: `await Sandbox().run(code) -> SandboxResult`.

    sandbox = Sandbox(pool_size=4, limits=SandboxLimits(wall_seconds=5))
    result = await sandbox.run("print(input()[::-1])", stdin=b"abc\\n")
    assert result.stdout == b"cba\\n" and result.exit_code == 0

Every run gets a fresh temporary working directory (removed afterwards), an environment holding only
PATH, HOME, TMPDIR and a UTF-8 locale (nothing of the server's, so no secrets), and the interpreter in
isolated mode (`python -I -S`: no site-packages, no user site, no PYTHON* variables). A tiny bootstrap
(`_BOOTSTRAP`) runs first inside the child, sets the limits, then executes the code as `__main__`;
limits are set there rather than in a `preexec_fn`, which is unsafe in a threaded server.

Limits (`SandboxLimits`): CPU time (RLIMIT_CPU), memory (RLIMIT_AS and RLIMIT_DATA), file size
(RLIMIT_FSIZE), open files, no core dumps, a wall-clock timeout after which the whole process group is
killed with SIGKILL, and an output cap (at most `output_bytes` of stdout and of stderr are read; more
kills the run). A non-zero exit, a crash or a kill is a `SandboxResult`, never an exception.

Isolation, chosen once per interpreter by probing what the machine allows (`network_isolation`,
`process_limit` report the choice):

- Network. Preferred: `unshare --user --map-root-user --net --pid --fork` puts the child in new user,
  network and PID namespaces. The network namespace has only a loopback interface, and it is down,
  so nothing (not even the host's 127.0.0.1) can be reached. The PID namespace makes the child its
  init: when it dies, or the group is killed, the kernel kills every process it started, including
  ones that called setsid(). Fallback, where unprivileged user namespaces are off: an audit hook
  (`sys.addaudithook`) installed before the code runs refuses socket creation, connect, bind and name
  lookups, and ctypes. Audit hooks cannot be removed from Python, but they are a best effort, not a
  security boundary.
- Processes (fork bombs). RLIMIT_NPROC counts every task of the *real user*, and the kernel ignores it
  for root. Inside a fresh user namespace owned by a non-root user, the count is per namespace, so
  the limit counts only the sandbox's own processes ("rlimit"). For root (as on the development VM
  this was written on: root, kernel 6.18, cgroup v1 pids controller writable), each run gets its own
  pids cgroup with `pids.max` ("cgroup"); the bootstrap joins it before running any code, and the
  parent kills its members and removes it afterwards. Without either (root without a writable pids
  cgroup, or a non-root user without namespaces) the audit hook also refuses fork, exec, spawn and
  subprocess ("audit-hook"); a non-root user then also gets RLIMIT_NPROC set to its current task
  count plus the limit.

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
import itertools
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

import orjson

from gymhall.exceptions import ConfigError

__all__ = ["Sandbox", "SandboxLimits", "SandboxResult", "namespaces_available", "pids_cgroup_root"]

MiB = 1024 * 1024

#: Exit status the bootstrap uses when the CPU-time limit's warning signal (SIGXCPU) arrives.
CPU_LIMIT_EXIT = 128 + signal.SIGXCPU

Isolation = Literal["auto", "namespace", "audit-hook"]

_NAMESPACE_FLAGS = ("--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child")
_PROBE = "import socket; print(len(socket.if_nameindex()))"  # a new network namespace has only `lo`

# Runs in the child before the untrusted code: join the cgroup, set limits, install the audit hook,
# then run main.py as __main__ with the bootstrap's own names out of reach.
_BOOTSTRAP = r"""
import json, os, resource, signal, sys
def _boot(cfg):
    if cfg["cgroup"]:
        with open(cfg["cgroup"], "w") as f:
            f.write("0")
    for name, soft, hard in cfg["limits"]:
        kind = getattr(resource, name)
        ceiling = resource.getrlimit(kind)[1]
        if ceiling != resource.RLIM_INFINITY:
            hard = min(hard, ceiling)
            soft = min(soft, hard)
        resource.setrlimit(kind, (soft, hard))
    signal.signal(signal.SIGXCPU, lambda *_: os._exit(cfg["cpu_exit"]))
    refused = tuple(cfg["refuse_events"])
    refused_imports = frozenset(cfg["refuse_imports"])
    if refused or refused_imports:
        def refuse(event, args):
            if event.startswith(refused) or (event == "import" and args[0] in refused_imports):
                raise PermissionError(f"{event} is not allowed in this sandbox")
        sys.addaudithook(refuse)
    import builtins, types
    main = types.ModuleType("__main__")
    main.__file__ = cfg["main"]
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    sys.argv = [cfg["main"], *cfg["args"]]
    sys.path.insert(0, os.getcwd())
    with open(cfg["main"], "rb") as f:
        code = compile(f.read(), cfg["main"], "exec")
    exec(code, main.__dict__)
_boot(json.loads(sys.argv[1]))
"""

_NETWORK_EVENTS = ("socket.", "ctypes.")
_PROCESS_EVENTS = ("os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system", "subprocess.")
_PROCESS_IMPORTS = ("_posixsubprocess", "_ctypes")  # fork_exec and ctypes reach fork/exec without events


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


@functools.cache
def namespaces_available(python: str = sys.executable) -> bool:
    """Whether `unshare` can give a child new user, network and PID namespaces here (probed once)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    try:
        probe = subprocess.run(
            [unshare, *_NAMESPACE_FLAGS, python, "-I", "-S", "-c", _PROBE],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
            env=_child_env(tempfile.gettempdir()),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0 and probe.stdout.strip() == b"1"


def _own_cgroup_paths() -> dict[str, str]:
    paths: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else ["unified"]:
            paths[controller] = path
    return paths


@functools.cache
def pids_cgroup_root() -> Path | None:
    """A cgroup directory where this process may create children limited by `pids.max`, or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        own = _own_cgroup_paths()
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    candidates: list[Path] = []
    for line in mounts:
        parts = line.split()
        if len(parts) < 4:
            continue
        mountpoint, fstype, options = parts[1], parts[2], parts[3].split(",")
        if fstype == "cgroup" and "pids" in options and "pids" in own:
            candidates.append(Path(mountpoint) / own["pids"].lstrip("/"))
        elif fstype == "cgroup2" and "unified" in own:
            base = Path(mountpoint) / own["unified"].lstrip("/")
            with contextlib.suppress(OSError):
                if "pids" in (base / "cgroup.subtree_control").read_text().split():
                    candidates.append(base)
    for base in candidates:
        probe = base / f"gymhall-probe-{os.getpid()}"
        try:
            probe.mkdir()
        except OSError:
            continue
        try:
            (probe / "pids.max").write_text("1")
            return base
        except OSError:
            continue
        finally:
            with contextlib.suppress(OSError):
                probe.rmdir()
    return None


def _user_task_count(uid: int) -> int:
    """How many tasks (processes and threads) the real user `uid` has: what RLIMIT_NPROC counts."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            count += int(fields.get("Threads", "1"))
    return count


def _child_env(workdir: str) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}


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


class _Cgroup:
    """One run's pids cgroup: created before the run, emptied and removed after it."""

    _ids = itertools.count()

    def __init__(self, root: Path, max_processes: int) -> None:
        self.path = root / f"gymhall-sandbox-{os.getpid()}-{next(self._ids)}"
        self.path.mkdir()
        (self.path / "pids.max").write_text(str(max_processes))

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def members(self) -> list[int]:
        with contextlib.suppress(OSError):
            return [int(pid) for pid in self.procs.read_text().split()]
        return []

    def kill(self) -> None:
        for pid in self.members():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    async def remove(self) -> None:
        deadline = time.monotonic() + 5.0
        while True:
            self.kill()
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return  # left behind empty-ish; the kernel frees it when its last member dies
                await asyncio.sleep(0.02)


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

    def _bootstrap_config(self, limits: SandboxLimits, cgroup: _Cgroup | None, args: Sequence[str]) -> dict[str, Any]:
        cpu = max(1, math.ceil(limits.cpu_seconds))
        rlimits: list[tuple[str, int, int]] = [
            ("RLIMIT_CPU", cpu, cpu + 1),
            ("RLIMIT_AS", limits.memory_bytes, limits.memory_bytes),
            ("RLIMIT_DATA", limits.memory_bytes, limits.memory_bytes),
            ("RLIMIT_FSIZE", limits.file_size_bytes, limits.file_size_bytes),
            ("RLIMIT_NOFILE", limits.open_files, limits.open_files),
            ("RLIMIT_CORE", 0, 0),
        ]
        namespaced = self.network_isolation == "namespace"
        refuse_events: list[str] = [] if namespaced else list(_NETWORK_EVENTS)
        refuse_imports: list[str] = []
        if os.geteuid() != 0:
            # `unshare` itself counts as one task of the namespace; outside one, every task of the user counts.
            base = 1 if namespaced else _user_task_count(os.getuid())
            nproc = base + limits.max_processes
            rlimits.append(("RLIMIT_NPROC", nproc, nproc))
        if self.process_limit == "audit-hook":
            refuse_events += _PROCESS_EVENTS
            refuse_imports += _PROCESS_IMPORTS
        return {
            "cgroup": str(cgroup.procs) if cgroup is not None else None,
            "limits": rlimits,
            "cpu_exit": CPU_LIMIT_EXIT,
            "refuse_events": refuse_events,
            "refuse_imports": refuse_imports,
            "main": "main.py",
            "args": list(args),
        }

    def _command(self, config: Mapping[str, Any]) -> list[str]:
        command = [self.python, "-I", "-S", "-c", _BOOTSTRAP, orjson.dumps(config).decode()]
        if self.network_isolation == "namespace":
            unshare = shutil.which("unshare")
            assert unshare is not None  # namespaces_available found it
            command = [unshare, *_NAMESPACE_FLAGS, *command]
        return command

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
        cgroup = _Cgroup(root, limits.max_processes) if root is not None else None
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
                env=_child_env(workdir),
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


def _kill(process: asyncio.subprocess.Process, cgroup: _Cgroup | None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if cgroup is not None:
        cgroup.kill()
