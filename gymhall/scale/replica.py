"""`ServerReplica`: one Ray actor running one replica of a served instance, as `gymhall serve` runs a server.

The actor starts the instance's own command (the one `gymhall serve` plans: `gymhall run-server` or the
instance's `app.py`, with the config and overrides), so a replica serves the very app a plain `gymhall
serve` would, on uvicorn, in a process of its own. The command binds the instance's host (loopback unless
configured) on port 0, prints the address it got, and the actor answers it once `GET /` says 200.

The server dies with the actor: it is started through a launcher that asks the kernel to kill it when
the thread that started it ends (`PR_SET_PDEATHSIG`), and that thread lives exactly as long as the
server, or as the actor's process when Ray kills it. A server that exits ends `wait_exit`, which is how
the driver learns of it; an actor that dies fails `wait_exit` with Ray's error.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["ReplicaAddress", "ReplicaFailure", "ReplicaSpec", "ServerReplica"]

_SERVING = re.compile(r"gymhall: serving .* on (http://\S+) \(Ctrl-C to stop\)")
_TAIL_LINES = 30  # output lines kept for the error of a server that did not start
_STOP_GRACE_S = 3.0  # SIGTERM to SIGKILL: uvicorn's graceful shutdown is 3 s
_PROBE_INTERVAL_S = 0.05
_WILDCARDS = ("0.0.0.0", "::")


@dataclass(frozen=True)
class ReplicaSpec:
    """What one replica runs: the instance's command (its `--host`/`--port` already the replica's) and where."""

    instance: str
    index: int
    command: Sequence[str]
    cwd: str
    display: str = ""  # the command as a shell line, secrets hidden, for errors
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # e.g. the replica's session secret
    ready_timeout_s: float = 30.0

    @property
    def label(self) -> str:
        """The replica's name in output and errors, e.g. `weather#1`."""
        return f"{self.instance}#{self.index}"


@dataclass(frozen=True)
class ReplicaAddress:
    """Where a started replica serves: its URL, its node (Ray's id and IP) and its server's process id."""

    url: str
    node_id: str
    node_ip: str
    pid: int


@dataclass(frozen=True)
class ReplicaFailure:
    """Why a replica did not start: a problem, its fix and the server's last output lines.

    Returned, not raised: an exception would reach the driver wrapped in Ray's traceback of it.
    """

    problem: str
    fix: str
    output: tuple[str, ...] = ()


class ServerReplica:
    """The body of a replica's actor (made an actor with `ray.remote` by `gymhall.scale.serving`).

    Its methods block, so the actor is threaded (`max_concurrency` > 1): `wait_exit` waits while
    `stop` can still be called.
    """

    def __init__(self, spec: ReplicaSpec) -> None:
        self.spec = spec
        self._process: subprocess.Popen[bytes] | None = None
        self._address: str | None = None
        self._ready = threading.Event()  # the address line was read, or the process ended first
        self._exited = threading.Event()
        self._tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self._keeper: threading.Thread | None = None

    def start(self) -> ReplicaAddress | ReplicaFailure:
        """Start the server; its address once it answers `GET /` with 200, or why it did not start."""
        import ray

        if self._keeper is None:
            self._keeper = threading.Thread(target=self._keep, name=f"gymhall-{self.spec.label}", daemon=True)
            self._keeper.start()
        deadline = time.monotonic() + self.spec.ready_timeout_s
        self._ready.wait(self.spec.ready_timeout_s)
        if self._address is None:
            return self._failure("before it printed its address" if self._exited.is_set() else "in time")
        node_ip: str = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
        parts = urlsplit(self._address)
        url = probe = self._address
        if parts.hostname in _WILDCARDS:  # bound to every interface: reached at the node's IP, probed on loopback
            url = f"http://{node_ip}:{parts.port}"
            probe = f"http://{'[::1]' if ':' in (parts.hostname or '') else '127.0.0.1'}:{parts.port}"
        while not self._answers(probe):
            if self._exited.is_set() or time.monotonic() > deadline:
                return self._failure("before it answered GET / with 200" if self._exited.is_set() else "in time")
            time.sleep(_PROBE_INTERVAL_S)
        assert self._process is not None
        return ReplicaAddress(url, ray.get_runtime_context().get_node_id(), node_ip, self._process.pid)

    def wait_exit(self) -> str:
        """Block until the server exits; answer how it ended and its last output lines."""
        self._exited.wait()
        code = self._process.returncode if self._process is not None else None
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        tail = "\n".join(f"    {line}" for line in self._tail)
        return f"its server {how}" + (f"; its last output lines:\n{tail}" if tail else "")

    def stop(self) -> None:
        """Stop the server: SIGTERM (uvicorn shuts down gracefully), SIGKILL after the grace period."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        if not self._exited.wait(_STOP_GRACE_S):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            self._exited.wait(_STOP_GRACE_S)

    # -- internals --------------------------------------------------------------------------------

    def _keep(self) -> None:
        """Start the server, read its output until it ends: this thread is the server's parent."""
        from gymhall.mcp.connection import guarded_command  # the launcher with PR_SET_PDEATHSIG

        try:
            self._process = subprocess.Popen(
                guarded_command(list(self.spec.command)),
                cwd=self.spec.cwd,
                env={**os.environ, **self.spec.env, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            self._tail.append(f"cannot start {self.spec.command[0]!r} in {self.spec.cwd}: {exc}")
            self._exited.set()
            self._ready.set()
            return
        assert self._process.stdout is not None
        for raw in iter(self._process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self._tail.append(line)
            if self._address is None and (match := _SERVING.search(line)):
                self._address = match.group(1)
                self._ready.set()
            print(f"({self.spec.label}) {line}", flush=True)  # Ray relays an actor's output to the driver
        self._process.wait()
        self._exited.set()
        self._ready.set()

    @staticmethod
    def _answers(url: str) -> bool:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never via a proxy
        try:
            with opener.open(url + "/", timeout=2.0) as reply:
                return int(reply.status) == 200
        except OSError:
            return False

    def _failure(self, when: str) -> ReplicaFailure:
        self.stop()
        spec = self.spec
        return ReplicaFailure(
            f"replica {spec.label} did not start {when} ({spec.ready_timeout_s:g} s allowed)",
            f"correct the error in its output; to run it alone on that node: cd {spec.cwd} && {spec.display}",
            tuple(self._tail),
        )
