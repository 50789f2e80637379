"""The first code of a sandboxed run: a supervisor that starts one confined child per input (standard library only).

`Sandbox` runs this file's text as `python -I -S -c SOURCE CONFIG` and never imports it. The supervisor
(trusted; it runs no untrusted code) joins the run's cgroup, builds the filesystem view (a mount
namespace: a size-limited tmpfs root holding the working directory, read-only binds of what Python
needs, /dev's harmless nodes, a fresh /proc), imports `preload`, then for each input:

1. forks a child, which reads its one input (a `<length>\\n<bytes>` frame) from fd 0, puts it on a
   memfd as its stdin, points stdout and stderr at pipes to the supervisor, closes every other file
   descriptor, sets the rlimits, drops to the sandbox user, installs the audit hook and runs `main.py`;
2. reads the child's output (capped), kills it at its wall limit, then kills every process left in the
   sandbox (`kill(-1)` as the PID namespace's init, else the cgroup's members and the process group);
3. writes a frame to its own stdout: a JSON header line (`exit`, `killed`, `duration`, `stdout`,
   `stderr` lengths) and the two outputs.

The supervisor never reads the inputs: each child reads its own, so a child forked later holds no
earlier input in its memory, and untrusted code never holds the pipe the next inputs travel on. When
the server dies (SIGKILL), its end of our stdout closes: the supervisor kills the child and exits.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import select
import signal
import sys
import time
from typing import Any

__all__: list[str] = []

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT, _MS_BIND, _MS_REC = 1, 2, 4, 8, 32, 4096, 16384
_DEVICES = ("null", "zero", "random", "urandom")
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_READ_EVENTS = ("open", "os.listdir", "os.scandir")
_WRITE_EVENTS: tuple[str, ...] = ("os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.chmod", "os.chown")
_WRITE_EVENTS += ("os.truncate", "os.symlink", "os.link", "os.utime", "shutil.rmtree")


def _mount(libc: Any, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    def encode(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    if libc.mount(encode(source), target.encode(), encode(fstype), flags, encode(data)) != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _enter_root(cfg: dict[str, Any], workdir: str) -> None:
    """Mount a tmpfs root beside the workdir, fill it, and chroot into it; cwd stays at the same path."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    root = os.path.join(workdir, ".root")
    os.mkdir(root, 0o755)
    _mount(libc, "tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={cfg['disk_bytes']},mode=755")
    binds: list[str] = []
    for path in cfg["binds"]:
        target = root + path
        if os.path.islink(path):
            os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
            os.symlink(os.readlink(path), target)
            continue
        os.makedirs(target, 0o755, exist_ok=True)
        _mount(libc, path, target, None, _MS_BIND | _MS_REC, None)
        binds.append(path)
    os.makedirs(root + "/dev", 0o755)
    for name in _DEVICES:
        target = f"{root}/dev/{name}"
        open(target, "wb").close()
        _mount(libc, f"/dev/{name}", target, None, _MS_BIND, None)
    os.mkdir(root + "/tmp", 0o777)
    os.chmod(root + "/tmp", 0o1777)
    os.mkdir(root + "/proc", 0o555)
    try:
        _mount(libc, "proc", root + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)
    except OSError:
        pass  # no /proc inside: Python runs without it
    inner = root + workdir
    os.makedirs(inner, 0o700)
    for dirpath, dirnames, filenames in os.walk(workdir):
        dirnames[:] = [name for name in dirnames if os.path.join(dirpath, name) != root]
        for name in dirnames:
            os.makedirs(root + os.path.join(dirpath, name), 0o700, exist_ok=True)
        for name in filenames:
            with (
                open(os.path.join(dirpath, name), "rb") as source,
                open(root + os.path.join(dirpath, name), "wb") as copy,
            ):
                copy.write(source.read())
    if cfg["uid"] is not None:
        for dirpath, dirnames, filenames in os.walk(inner):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.chown(name, cfg["uid"], cfg["gid"])
    for path in binds:
        locked = os.statvfs(path).f_flag & (_MS_NOSUID | _MS_NODEV | _MS_NOEXEC | 1024 | 2048)
        flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | locked
        _mount(libc, None, root + path, None, flags, None)
    _pivot(libc, root)
    os.chdir(workdir)


def _pivot(libc: Any, root: str) -> None:
    """Make `root` the filesystem's root and detach the old one, so no chroot escape finds the host's
    files (the code may keep capabilities inside a user namespace); plain chroot where pivot_root fails."""
    number = _PIVOT_ROOT.get(os.uname().machine)
    os.chdir(root)
    if number is not None and libc.syscall(number, b".", b".") == 0 and libc.umount2(b".", 2) == 0:
        os.chroot(".")
    else:
        os.chroot(root)
    os.chdir("/")


def _read_exactly(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> bytes:
    header = b""
    while not header.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            return b""
        header += byte
    return _read_exactly(fd, int(header))


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _path_hook(readable: tuple[str, ...], writable: tuple[str, ...]) -> Any:
    """An audit hook confining file access to `readable` and `writable` (the fallback without a mount namespace)."""
    realpath = os.path.realpath

    def check(event: str, args: tuple[Any, ...]) -> None:
        if event in _READ_EVENTS or event in _WRITE_EVENTS:
            paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))] if event == "os.rename" else []
            if not paths and args and isinstance(args[0], (str, bytes, os.PathLike)):
                paths = [args[0]]
            writing = event in _WRITE_EVENTS or (event == "open" and (args[1] or "r") not in ("r", "rb", "rt"))
            if event == "open" and isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                writing = True
            for path in paths:
                full = realpath(os.fsdecode(path))
                if not _inside(full, writable if writing else readable + writable):
                    raise PermissionError(f"{event} {full!r} is outside this sandbox")

    return check


def _child(cfg: dict[str, Any], code: Any, out_w: int, err_w: int) -> None:
    os.setsid()
    data = _read_frame(0)
    stdin = os.memfd_create("stdin", 0)
    view = memoryview(data)
    while view:
        view = view[os.write(stdin, view) :]
    os.lseek(stdin, 0, os.SEEK_SET)
    for source, target in ((stdin, 0), (out_w, 1), (err_w, 2)):
        os.dup2(source, target)
    os.closerange(3, 1 << 16)
    del data, view
    for name, soft, hard in cfg["limits"]:
        kind = getattr(resource, name)
        ceiling = resource.getrlimit(kind)[1]
        if ceiling != resource.RLIM_INFINITY:
            hard = min(hard, ceiling)
            soft = min(soft, hard)
        resource.setrlimit(kind, (soft, hard))
    if cfg["uid"] is not None:
        os.setgroups([])
        os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
        os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
    signal.signal(signal.SIGXCPU, lambda *_: os._exit(cfg["cpu_exit"]))
    refused = tuple(cfg["refuse_events"])
    refused_imports = frozenset(cfg["refuse_imports"])
    paths = _path_hook(tuple(cfg["readable"]), tuple(cfg["writable"])) if cfg["confine_paths"] else None
    if refused or refused_imports or paths:

        def refuse(event: str, args: tuple[Any, ...]) -> None:
            if event.startswith(refused) or (event == "import" and args[0] in refused_imports):
                raise PermissionError(f"{event} is not allowed in this sandbox")
            if paths is not None:
                paths(event, args)

        sys.addaudithook(refuse)
    _run_main(cfg, code)


def _compile_main(path: str) -> Any:
    """The code of `main.py`, compiled once by the supervisor (compiling runs none of it), or the error."""
    try:
        with open(path, "rb") as f:
            return compile(f.read(), path, "exec")
    except BaseException as exc:
        return exc


def _run_main(cfg: dict[str, Any], code: Any) -> None:
    import builtins
    import types

    main = types.ModuleType("__main__")
    main.__file__ = cfg["main"]
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = main
    sys.argv = [cfg["main"], *cfg["args"]]
    sys.path.insert(0, os.getcwd())
    status = 0
    try:
        if isinstance(code, BaseException):
            raise code
        exec(code, main.__dict__)
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:
        import traceback

        traceback.print_exc()
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(status)


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _kill_rest(cfg: dict[str, Any], pid: int) -> None:
    for target, kill in ((pid, os.killpg), (pid, os.kill)):
        try:
            kill(target, signal.SIGKILL)
        except OSError:
            pass
    if os.getpid() == 1:
        try:
            os.kill(-1, signal.SIGKILL)  # as the PID namespace's init: everything but itself
        except OSError:
            pass
    elif cfg["cgroup"]:
        try:
            with open(cfg["cgroup"]) as members:
                pids = [int(p) for p in members.read().split()]
        except OSError:
            pids = []
        for member in pids:
            if member != os.getpid():
                try:
                    os.kill(member, signal.SIGKILL)
                except OSError:
                    pass


def _supervise(cfg: dict[str, Any], code: Any, index: int) -> None:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(out_r)
            os.close(err_r)
            _child(cfg, code, out_w, err_w)
        finally:
            os._exit(70)
    os.close(out_w)
    os.close(err_w)
    pidfd = os.pidfd_open(pid)
    outputs = {out_r: bytearray(), err_r: bytearray()}
    poller = select.poll()
    for fd in (out_r, err_r, pidfd):
        poller.register(fd, select.POLLIN)
    poller.register(1, 0)  # POLLERR once the server, which reads our stdout, is gone
    cap, killed, exited, open_fds = cfg["output_bytes"], None, False, {out_r, err_r}
    deadline = started + cfg["wall_seconds"]
    while not exited and killed is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            killed = "timeout"
            break
        for fd, _ in poller.poll(remaining * 1000):
            if fd == 1:  # orphaned: stop the code now rather than at its wall limit, for nobody
                _kill_rest(cfg, pid)
                os._exit(0)
            if fd == pidfd:
                exited = True
                poller.unregister(pidfd)
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                poller.unregister(fd)
                open_fds.discard(fd)
            elif len(outputs[fd]) + len(chunk) > cap:
                outputs[fd] += chunk[: cap - len(outputs[fd])]
                killed = "output_limit"
            else:
                outputs[fd] += chunk
    duration = time.monotonic() - started
    _kill_rest(cfg, pid)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if killed is None:
        _drain(poller, outputs, cap, open_fds)
    while True:  # reap what the child left behind (it is ours as the PID namespace's init)
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    for fd in (out_r, err_r, pidfd):
        os.close(fd)
    out, err = bytes(outputs[out_r]), bytes(outputs[err_r])
    header = {
        "i": index,
        "exit": status,
        "killed": killed,
        "duration": duration,
        "stdout": len(out),
        "stderr": len(err),
    }
    _write_all(1, json.dumps(header).encode() + b"\n" + out + err)


def _drain(poller: Any, outputs: dict[int, bytearray], cap: int, open_fds: set[int]) -> None:
    deadline = time.monotonic() + 1.0
    while open_fds and time.monotonic() < deadline:
        for fd, _ in poller.poll(100):
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                poller.unregister(fd)
                open_fds.discard(fd)
            else:
                outputs[fd] += chunk[: max(0, cap - len(outputs[fd]))]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main(cfg: dict[str, Any]) -> None:
    """Confine the run once, then supervise one child per input."""
    if cfg["cgroup"]:
        with open(cfg["cgroup"], "w") as f:
            f.write("0")
    workdir = os.getcwd()
    if cfg["mount"]:
        _enter_root(cfg, workdir)
    elif cfg["uid"] is not None:
        for dirpath, dirnames, filenames in os.walk(workdir):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.chown(name, cfg["uid"], cfg["gid"])
    if cfg["confine_paths"]:
        cfg["readable"] = [os.path.realpath(p) for p in sys.path if p] + [f"/dev/{name}" for name in _DEVICES]
        cfg["writable"] = [os.path.realpath(workdir), "/dev/null"]
    sys.path.insert(0, os.getcwd())  # `preload` may name trusted modules the caller put beside main.py
    for name in cfg["preload"]:
        try:
            __import__(name)
        except ImportError:
            pass
    sys.path.remove(os.getcwd())
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    code = _compile_main(cfg["main"])
    gc.freeze()  # the children's collections then skip (and do not copy) the supervisor's objects
    for index in range(cfg["inputs"]):
        _supervise(cfg, code, index)
    os._exit(0)  # nothing to finalize: every frame is written


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
