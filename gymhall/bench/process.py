"""Run an ASGI app under uvicorn in a child process, optionally pinned to one CPU, for benchmarks."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO

__all__ = ["ServerProcess", "start_server"]

_STOP_GRACE_S = 5.0
_POLL_INTERVAL_S = 0.05
_STDERR_TAIL_BYTES = 4000


@dataclass
class ServerProcess:
    """A running uvicorn child. ``stop()`` (or leaving the ``with`` block) ends it."""

    url: str
    pid: int
    _popen: subprocess.Popen[bytes] = field(repr=False, compare=False)
    _stderr: IO[bytes] = field(repr=False, compare=False)

    def stop(self) -> None:
        """SIGTERM, wait up to 5 s, then SIGKILL. Safe to call more than once."""
        if self._popen.poll() is None:
            self._popen.send_signal(signal.SIGTERM)
            try:
                self._popen.wait(_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait(_STOP_GRACE_S)
        if not self._stderr.closed:
            self._stderr.close()

    def stderr_tail(self, limit: int = _STDERR_TAIL_BYTES) -> str:
        """Last ``limit`` bytes the child wrote to stderr (and stdout), decoded leniently."""
        if self._stderr.closed:
            return ""
        # pread, not seek+read: the child shares this file offset, and moving it would make the
        # child's next writes overwrite earlier output.
        fd = self._stderr.fileno()
        size = os.fstat(fd).st_size
        start = max(0, size - limit)
        return os.pread(fd, size - start, start).decode("utf-8", "replace")

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _free_port() -> int:
    # Racy by nature (the port is released before uvicorn binds it) but fine on loopback.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _is_ready(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _pin(cpu: int) -> Callable[[], None]:
    def preexec() -> None:
        os.sched_setaffinity(0, {cpu})

    return preexec


def start_server(
    app_import: str,
    *,
    port: int | None = None,
    cpu: int | None = None,
    factory: bool = False,
    env: dict[str, str] | None = None,
    ready_timeout_s: float = 20.0,
    http: str = "httptools",
) -> ServerProcess:
    """Start ``uvicorn <app_import>`` on 127.0.0.1 (uvloop + httptools, no access log) and wait
    until ``GET /`` answers 200. ``cpu`` pins the child to that CPU; ``env`` adds to the environment;
    ``http`` is uvicorn's ``--http`` (a protocol name or an import string).

    Raises RuntimeError with the child's stderr tail if it exits or is not ready in time.
    """
    # Checked against the machine, not our own affinity: a caller pinned elsewhere may still
    # place the server on another CPU.
    if cpu is not None and not 0 <= cpu < (os.cpu_count() or 1):
        raise ValueError(f"cpu {cpu} does not exist (this machine has {os.cpu_count()} CPUs)")
    port = port if port is not None else _free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", app_import,
        "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", http,
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    if factory:
        cmd.append("--factory")
    # A temp file, not a pipe: nobody drains a pipe during the run, and a full one blocks the child.
    stderr = tempfile.TemporaryFile(prefix="gymhall-bench-server-")
    try:
        popen = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            env={**os.environ, **(env or {})},
            preexec_fn=_pin(cpu) if cpu is not None else None,
        )
    except subprocess.SubprocessError as exc:  # only the preexec_fn (pinning) raises this
        stderr.close()
        raise RuntimeError(f"could not pin the server to cpu {cpu} (outside this cpuset?)") from exc
    server = ServerProcess(url=f"http://127.0.0.1:{port}", pid=popen.pid, _popen=popen, _stderr=stderr)
    deadline = time.monotonic() + ready_timeout_s
    while True:
        if popen.poll() is not None:
            tail = server.stderr_tail()
            server.stop()
            raise RuntimeError(f"server {app_import!r} exited with code {popen.returncode}:\n{tail}")
        if _is_ready(port):
            return server
        if time.monotonic() >= deadline:
            tail = server.stderr_tail()
            server.stop()
            raise RuntimeError(f"server {app_import!r} not ready within {ready_timeout_s} s:\n{tail}")
        time.sleep(_POLL_INTERVAL_S)
