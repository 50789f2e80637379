"""Start every server instance of a config as its own process, watch it, stop them all together.

`plan_servers` turns a loaded `GymConfig` into one `ServerPlan` per instance (command, cwd, host,
port); `Launcher` runs the plans:

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
import io
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any, TextIO

from gymhall.config.settings import GymConfig, ServerInstance, config_error, is_secret_key, local_url
from gymhall.exceptions import GymhallError, ServerStartError

__all__ = ["Launcher", "ServerPlan", "ServerStartError", "plan_servers"]

_TAIL_LINES = 20  # output lines kept per server for error reports
_POLL_INTERVAL_S = 0.1
_PROBE_TIMEOUT_S = 2.0  # one health request; the total wait is `ready_timeout`
_RELAY_JOIN_S = 2.0  # how long to wait for a finished child's last output lines


@dataclass(frozen=True)
class ServerPlan:
    """How to start one server instance: its command line, working directory and address."""

    name: str
    kind: str
    host: str  # the address the server binds
    port: int
    command: list[str]
    cwd: Path
    entrypoint: str

    @property
    def url(self) -> str:
        """The base URL to reach the server from this machine (wildcard addresses become loopback)."""
        return local_url(self.host, self.port)

    def display_command(self) -> str:
        """The command as a shell line, with secret-looking override values shown as ``***``."""
        return " ".join(_redact_arg(arg) for arg in self.command)


def plan_servers(
    config: GymConfig,
    overrides: Sequence[str] = (),
    *,
    names: Sequence[str] = (),
    python: str = sys.executable,
) -> list[ServerPlan]:
    """One `ServerPlan` per server instance of `config` (or per name in `names`), with ports assigned.

    `overrides` are the command-line overrides `config` was loaded with; each child gets them again,
    with the config files as absolute ``--config`` paths, so it loads the same config from its own
    working directory. A file entrypoint (``app.py``) runs with its directory as the working
    directory, as NeMo Gym's servers expect (``from app import ...``); a ``module:attr`` entrypoint
    runs through ``python -m gymhall run-server`` from the current directory.
    """
    if names:
        selected = [config.server(name) for name in dict.fromkeys(names)]
    else:
        selected = list(config.servers.values())
    if not selected:
        raise config_error(
            "the config defines no server instances",
            "add a block such as my_env: {resources_servers: {my_env: {entrypoint: app.py, domain: other}}}",
            source=", ".join(str(s) for s in config.sources) or None,
        )
    config_flags, child_overrides = _child_config_args(config, overrides)
    ports = _assign_ports(selected)
    # Every child learns every address, so an agent finds its servers by instance name.
    child_overrides += [
        f"++{instance.key_path}.{key}={value}"
        for instance in selected
        for key, value in (("host", _host(instance)), ("port", ports[instance.name]))
    ]
    plans = []
    for instance in selected:
        host, port = _host(instance), ports[instance.name]
        entrypoint = instance.settings.get("entrypoint")
        if not entrypoint:
            raise config_error(
                f"server {instance.name!r} has no entrypoint",
                f"add 'entrypoint: app.py' (or module:Class) under {instance.key_path}",
                source=instance.source,
                key=f"{instance.key_path}.entrypoint",
            )
        flags = [
            *config_flags,
            "--name",
            instance.name,
            "--host",
            host,
            "--port",
            str(port),
            *child_overrides,
        ]
        path = instance.entrypoint_path()
        if path is None:
            command = [python, "-m", "gymhall", "run-server", str(entrypoint), *flags]
            cwd = Path.cwd()
        elif path.is_file():
            command = [python, str(path.resolve()), *flags]
            cwd = path.resolve().parent
        else:
            raise config_error(
                f"entrypoint of server {instance.name!r} not found: {path}",
                "correct the path; a relative entrypoint resolves against the directory above the "
                "config's configs/ folder (or the config's own directory)",
                source=instance.source,
                key=f"{instance.key_path}.entrypoint",
            )
        plans.append(ServerPlan(instance.name, instance.kind.value, host, port, command, cwd, str(entrypoint)))
    return plans


def _host(instance: ServerInstance) -> str:
    return str(instance.settings.get("host") or "127.0.0.1")


def _assign_ports(instances: Sequence[ServerInstance]) -> dict[str, int]:
    """Each instance's port: its configured one (checked free and unique), else a free one."""
    ports: dict[str, int] = {}
    owners: dict[tuple[str, int], str] = {}
    for instance in instances:
        port = instance.settings.get("port")
        if not port:  # None or 0: pick one below, after every configured port is known
            continue
        address = (_host(instance), int(port))
        if address in owners:
            raise config_error(
                f"servers {owners[address]!r} and {instance.name!r} are both set to port {port}",
                f"give one another port ({instance.key_path}.port=<port>), or remove it to pick a free one",
            )
        _check_port_free(*address, instance.name, instance.key_path)
        owners[address] = instance.name
        ports[instance.name] = int(port)
    for instance in instances:
        if instance.name not in ports:
            host = _host(instance)
            ports[instance.name] = _free_port(host, {p for h, p in owners if h == host})
            owners[(host, ports[instance.name])] = instance.name
    return ports


def _child_config_args(config: GymConfig, overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """The ``--config`` flags and the overrides every child gets, independent of its working directory."""
    files = [str(Path(p).resolve()) for p in config.values.get("config_paths") or []]
    flags = [arg for path in files for arg in ("--config", path)]
    passed: list[str] = []
    env_file: Path | None = None
    for item in overrides:
        key, eq, value = item.lstrip("+").partition("=")
        if key == "config_paths":
            continue  # already expanded into `files`, as absolute paths
        if key == "dotenv_path" and eq:
            env_file = Path(value).expanduser().resolve()
            continue
        passed.append(item)
    # A child resolves ./env.yaml against its own cwd; name the file this process used instead.
    if env_file is None and (Path.cwd() / "env.yaml").is_file():
        env_file = (Path.cwd() / "env.yaml").resolve()
    if env_file is not None:
        passed.append(f"++dotenv_path={env_file}")
    return flags, passed


def _redact_arg(arg: str) -> str:
    key, eq, _ = arg.partition("=")
    return shlex.quote(f"{key}=***" if eq and is_secret_key(key.rsplit(".", 1)[-1]) else arg)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _free_port(host: str, avoid: set[int]) -> int:
    # The OS picks a free port; a later bind by the child can in theory lose a race, which then
    # shows up as that child exiting early with "address already in use".
    for _ in range(100):
        with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port
    raise GymhallError(f"could not find a free port on {host}")


def _check_port_free(host: str, port: int, name: str, key_path: str) -> None:
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        # uvicorn sets SO_REUSEADDR too, so a port in TIME_WAIT is usable and must not be refused here.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise config_error(
                f"server {name!r} cannot bind {host}:{port} ({exc.strerror or exc})",
                f"stop whatever uses port {port}, set another port ({key_path}.port=<port>), "
                "or remove the port to pick a free one",
                key=f"{key_path}.port",
            ) from None


@dataclass
class _Child:
    """A started server process and the thread relaying its output."""

    plan: ServerPlan
    process: subprocess.Popen[bytes]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))
    relay: threading.Thread | None = None

    def running(self) -> bool:
        return self.process.poll() is None


class Launcher:
    """Runs one process per `ServerPlan`, relays their output and stops them together.

    Every child gets its own process group, so a Ctrl-C in the terminal reaches only the launcher,
    which then stops the children in order (SIGTERM, then SIGKILL after `stop_grace` seconds).
    """

    def __init__(
        self,
        plans: Sequence[ServerPlan],
        *,
        ready_timeout: float = 30.0,
        stop_grace: float = 3.0,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.plans = list(plans)
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
            for plan in self.plans:
                self._spawn(plan)
            self._wait_ready()
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
        from rich.console import Console
        from rich.table import Table

        table = Table(show_edge=False, pad_edge=False)
        rows = [(plan.name, plan.kind, plan.url) for plan in self.plans]
        for header in ("instance", "kind", "URL"):
            table.add_column(header, no_wrap=True)
        for row in rows:
            table.add_row(*row)
        # Rendered into a buffer wide enough for every row: rich never truncates a URL, and never
        # handles a broken stdout itself (it would exit the process before the servers are stopped).
        width = sum(max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(("instance", "kind", "URL")))
        buffer = io.StringIO()
        Console(file=buffer, width=width + 10, highlight=False, color_system=None).print(table)
        count = len(self.plans)
        return buffer.getvalue() + f"gymhall: all {count} server{'s' if count != 1 else ''} ready (Ctrl-C to stop)"

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
