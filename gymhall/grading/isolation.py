"""How a sandboxed child is cut off from the machine: namespaces, cgroups, rlimits and the bootstrap it runs.

`Sandbox` (gymhall.grading.sandbox) asks `child_command` for the command line of each run, and
`bootstrap_config` for what the child must do to itself before running the code. The child is
`python -I -S -c BOOTSTRAP CONFIG`: isolated mode imports nothing of gymhall, so the bootstrap is
source text, not a module. It joins the run's cgroup, sets the rlimits, installs the audit hook,
then executes `main.py` as `__main__`; limits are set there rather than in a `preexec_fn`, which is
unsafe in a threaded server.

Isolation is chosen once per interpreter by probing what the machine allows (`Sandbox.network_isolation`
and `Sandbox.process_limit` report the choice):

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
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import shutil
import signal
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
    "Cgroup",
    "bootstrap_config",
    "child_command",
    "child_env",
    "namespaces_available",
    "pids_cgroup_root",
    "user_task_count",
]

#: Exit status the bootstrap uses when the CPU-time limit's warning signal (SIGXCPU) arrives.
CPU_LIMIT_EXIT = 128 + signal.SIGXCPU

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


def bootstrap_config(
    rlimits: Sequence[tuple[str, int, int]],
    *,
    max_processes: int,
    namespaced: bool,
    refuse_processes: bool,
    cgroup: Cgroup | None,
    args: Sequence[str],
) -> dict[str, Any]:
    """What the bootstrap does before the code: `rlimits` (plus RLIMIT_NPROC where it counts), the cgroup to
    join, and the audit events refused (the network's without a network namespace, the processes' when
    `refuse_processes`). Scans /proc for a non-root user outside a namespace: call it off the event loop."""
    limits = list(rlimits)
    refuse_events: list[str] = [] if namespaced else list(_NETWORK_EVENTS)
    refuse_imports: list[str] = []
    if os.geteuid() != 0:
        # `unshare` itself counts as one task of the namespace; outside one, every task of the user counts.
        base = 1 if namespaced else user_task_count(os.getuid())
        nproc = base + max_processes
        limits.append(("RLIMIT_NPROC", nproc, nproc))
    if refuse_processes:
        refuse_events += _PROCESS_EVENTS
        refuse_imports += _PROCESS_IMPORTS
    return {
        "cgroup": str(cgroup.procs) if cgroup is not None else None,
        "limits": limits,
        "cpu_exit": CPU_LIMIT_EXIT,
        "refuse_events": refuse_events,
        "refuse_imports": refuse_imports,
        "main": "main.py",
        "args": list(args),
    }


def child_command(python: str, config: Mapping[str, Any], *, namespaced: bool) -> list[str]:
    """The command line of one run: the bootstrap under `python`, inside new namespaces when `namespaced`."""
    command = [python, "-I", "-S", "-c", _BOOTSTRAP, orjson.dumps(config).decode()]
    if namespaced:
        unshare = shutil.which("unshare")
        assert unshare is not None  # namespaces_available found it
        command = [unshare, *_NAMESPACE_FLAGS, *command]
    return command
