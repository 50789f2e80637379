"""How a sandboxed child is cut off from the machine: namespaces, cgroups, rlimits and the bootstrap it runs.

`Sandbox` (gymhall.grading.sandbox) asks `child_command` for the command line of each run, and
`bootstrap_config` for what the child must do to itself before running the code. The child is
`python -I -S -c BOOTSTRAP CONFIG`: isolated mode imports nothing of gymhall, so the bootstrap
(gymhall/grading/bootstrap.py) is sent as source text. It joins the run's cgroup, builds the
filesystem view, then forks one child per input, which sets the rlimits, drops to the sandbox user,
installs the audit hook and executes `main.py` as `__main__`; limits are set there rather than in a
`preexec_fn`, which is unsafe in a threaded server.

Isolation is chosen once per interpreter by probing what the machine allows (`Sandbox.network_isolation`
and `Sandbox.process_limit` report the choice):

- Network and filesystem. Preferred: `unshare --mount --net --pid --fork` (plus `--user
  --map-root-user` where gymhall is not root) puts the run in new mount, network and PID namespaces.
  The network namespace has only a loopback interface, and it is down, so nothing (not even the
  host's 127.0.0.1) can be reached. The PID namespace makes the supervisor its init: when it dies, or
  the group is killed, the kernel kills every process it started, including ones that called
  setsid(). The mount namespace gets a private tmpfs root (see gymhall.grading.bootstrap), so the
  host's files, unix sockets and cgroup filesystem are out of sight. Where gymhall is root, the code
  runs as `nobody` (`SANDBOX_UID`); without root, a user namespace maps only the server's user, so
  the code keeps that user (root inside the namespace, the server's user outside it). Fallback,
  where namespaces are off: an audit hook (`sys.addaudithook`) installed before the code runs
  refuses socket creation, connect, bind and name lookups, ctypes, exec and spawn, and file access
  outside the working directory and the standard library. Audit hooks cannot be removed from
  Python, but they are a best effort, not a security boundary.
- Processes (fork bombs). RLIMIT_NPROC counts every task of the *real user*, and the kernel ignores it
  for root. Inside a fresh user namespace owned by a non-root user, the count is per namespace, so
  the limit counts only the sandbox's own processes ("rlimit"). For root (as on the development VM
  this was written on: root, kernel 6.18, cgroup v1 pids controller writable), each run gets its own
  pids cgroup with `pids.max` ("cgroup"); the bootstrap joins it before running any code, and the
  parent kills its members and removes it afterwards. Without either (root without a writable pids
  cgroup, or a non-root user without namespaces) the audit hook also refuses fork, exec, spawn and
  subprocess ("audit-hook"); a non-root user then also gets RLIMIT_NPROC set to its current task
  count plus the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "CPU_LIMIT_EXIT",
    "LEFTOVER_PREFIX",
    "SANDBOX_UID",
    "Cgroup",
    "bootstrap_config",
    "child_command",
    "child_env",
    "namespaces_available",
    "pids_cgroup_root",
    "sandbox_user",
    "sweep_leftovers",
    "user_task_count",
    "world_readable",
]

#: Exit status the bootstrap uses when the CPU-time limit's warning signal (SIGXCPU) arrives.
CPU_LIMIT_EXIT = 128 + signal.SIGXCPU

_PROBE = "import socket; print(len(socket.if_nameindex()))"  # a new network namespace has only `lo`

# The sandbox's user where gymhall runs as root: `nobody`, which owns nothing (not the cgroup files).
SANDBOX_UID = SANDBOX_GID = 65534


@functools.cache
def _bootstrap_source() -> str:
    return (Path(__file__).parent / "bootstrap.py").read_text(encoding="utf-8")


def _namespace_flags() -> tuple[str, ...]:
    """Root needs no user namespace (and one mapping only root would keep the code root); others do."""
    user = () if os.geteuid() == 0 else ("--user", "--map-root-user")
    return (*user, "--mount", "--net", "--pid", "--fork", "--kill-child")


def world_readable(path: str) -> bool:
    """Whether a user with no rights of its own can read `path` (and search every directory above it)."""
    try:
        parts = os.path.realpath(path).split("/")
        for depth in range(1, len(parts)):  # every directory above it
            if not os.stat("/".join(parts[:depth]) or "/").st_mode & stat.S_IXOTH:
                return False
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False


def _read_only_binds(python: str) -> list[str]:
    """What the child's filesystem shows, read-only: /usr (and its links), and the interpreter's prefix."""
    prefixes = {sys.base_prefix, sys.base_exec_prefix, os.path.dirname(os.path.dirname(os.path.realpath(python)))}
    binds = ["/usr", "/bin", "/lib", "/lib64", "/lib32", "/libx32", "/sbin"]
    for prefix in sorted(prefixes):
        if not any(prefix == b or prefix.startswith(b + "/") for b in binds):
            binds.append(prefix)
    return [path for path in binds if os.path.lexists(path)]


_NETWORK_EVENTS = ("socket.", "ctypes.")
_PROCESS_EVENTS = ("os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system", "subprocess.")
_PROCESS_IMPORTS = ("_posixsubprocess", "_ctypes")  # fork_exec and ctypes reach fork/exec without events
# A new interpreter has no audit hook: without a network namespace, exec and spawn are refused too.
_EXEC_EVENTS = ("os.exec", "os.posix_spawn", "os.spawn", "os.system", "subprocess.", "pty.spawn")
_EXEC_IMPORTS = ("_posixsubprocess",)


@functools.cache
def namespaces_available(python: str = sys.executable) -> bool:
    """Whether `unshare` can give a child new user, network and PID namespaces here (probed once)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    try:
        probe = subprocess.run(
            [unshare, *_namespace_flags(), python, "-I", "-S", "-c", _PROBE],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
            env=child_env(tempfile.gettempdir()),
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


def user_task_count(uid: int) -> int:
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


def child_env(workdir: str) -> dict[str, str]:
    """The whole environment of a child: nothing of the server's, so no secrets."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}


class Cgroup:
    """One run's pids cgroup: created before the run, emptied and removed after it."""

    _ids = itertools.count()

    def __init__(self, root: Path, max_processes: int) -> None:
        self.path = root / f"{LEFTOVER_PREFIX}{os.getpid()}-{next(self._ids)}"
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
                await asyncio.sleep(0.005)


LEFTOVER_PREFIX = "gymhall-sandbox-"
"""The name of each run's working directory and cgroup begins with this, then the server's pid and a dash."""


@functools.cache
def sweep_leftovers() -> int:
    """Remove the working directories and cgroups of gymhall servers that died without removing them
    (killed with SIGKILL; their sandboxes stop on their own, see the bootstrap), once per process.
    Returns how many were removed. A cgroup that still holds a process is refused by the kernel and kept."""
    removed = 0
    for root in [Path(tempfile.gettempdir()), *filter(None, [pids_cgroup_root()])]:
        for path in root.glob(f"{LEFTOVER_PREFIX}*-*"):
            pid = path.name.removeprefix(LEFTOVER_PREFIX).split("-", 1)[0]
            if not pid.isdigit() or int(pid) == os.getpid() or Path(f"/proc/{pid}").exists():
                continue
            with contextlib.suppress(OSError):
                if (path / "cgroup.procs").exists():
                    path.rmdir()
                else:
                    shutil.rmtree(path)
                removed += 1
    return removed


def sandbox_user(namespaced: bool) -> int | None:
    """The uid the code runs as: `nobody` where gymhall runs as root (in a mount namespace, or where `nobody`
    can read the standard library), else None (the server's own user, the mapped root of a user namespace)."""
    if os.geteuid() != 0:
        return None
    if namespaced or world_readable(os.path.dirname(os.__file__)):
        return SANDBOX_UID
    return None


def bootstrap_config(
    rlimits: Sequence[tuple[str, int, int]],
    *,
    max_processes: int,
    namespaced: bool,
    refuse_processes: bool,
    cgroup: Cgroup | None,
    args: Sequence[str],
    python: str = sys.executable,
    inputs: int = 1,
    wall_seconds: float = 10.0,
    output_bytes: int = 1 << 20,
    disk_bytes: int = 64 << 20,
    preload: Sequence[str] = (),
) -> dict[str, Any]:
    """What the bootstrap does: `rlimits` (plus RLIMIT_NPROC where it counts), the cgroup to join, the
    filesystem view (a mount namespace when `namespaced`, else the audit hook's path checks), the user,
    and the audit events refused (the network's and exec's without a network namespace, fork's too when
    `refuse_processes`); then `inputs` children, each limited to `wall_seconds` and `output_bytes` per
    stream. Scans /proc for a non-root user outside a namespace: call it off the event loop."""
    limits = list(rlimits)
    refuse_events: list[str] = [] if namespaced else [*_NETWORK_EVENTS, *_EXEC_EVENTS]
    refuse_imports: list[str] = [] if namespaced else list(_EXEC_IMPORTS)
    if os.geteuid() != 0:
        # `unshare` and the supervisor count as tasks of the namespace; outside one, every task of the user.
        base = 2 if namespaced else user_task_count(os.getuid()) + 1
        nproc = base + max_processes
        limits.append(("RLIMIT_NPROC", nproc, nproc))
    if refuse_processes:
        refuse_events += _PROCESS_EVENTS
        refuse_imports += _PROCESS_IMPORTS
    uid = sandbox_user(namespaced)
    return {
        "cgroup": str(cgroup.procs) if cgroup is not None else None,
        "limits": limits,
        "cpu_exit": CPU_LIMIT_EXIT,
        "refuse_events": sorted(set(refuse_events)),
        "refuse_imports": sorted(set(refuse_imports)),
        "main": "main.py",
        "args": list(args),
        "uid": uid,
        "gid": SANDBOX_GID if uid is not None else None,
        "mount": namespaced,
        "binds": _read_only_binds(python) if namespaced else [],
        "disk_bytes": disk_bytes,
        "confine_paths": not namespaced,
        "readable": [],
        "writable": [],
        "preload": list(preload),
        "inputs": inputs,
        "wall_seconds": wall_seconds,
        "output_bytes": output_bytes,
    }


def child_command(python: str, config: Mapping[str, Any], *, namespaced: bool) -> list[str]:
    """The command line of one run: the bootstrap under `python`, inside new namespaces when `namespaced`."""
    command = [python, "-I", "-S", "-c", _bootstrap_source(), orjson.dumps(config).decode()]
    if namespaced:
        unshare = shutil.which("unshare")
        assert unshare is not None  # namespaces_available found it
        command = [unshare, *_namespace_flags(), *command]
    return command
