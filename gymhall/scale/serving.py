"""`RayServing`: `gymhall serve --ray`, every server instance of a config as replicas on a Ray cluster.

Each instance runs as `replicas` Ray actors (`gymhall.scale.replica.ServerReplica`), placed by Ray with
the `SPREAD` strategy and each replica's `num_cpus` and custom `resources`; each actor runs the command
`gymhall serve` would run for the instance, on its node, on a free port. Every instance keeps one
address, its planned host and port, where a `ReplicaRouter` (served from this process) passes each
request to the replica holding its session (`gymhall.scale.router`): clients and agents that know one
URL (curl, NeMo Gym's agent, gymhall's agent instances, which get these addresses) need nothing more.

Ray does the placement, the scheduling and the membership: an actor that dies (killed, out of memory,
its node lost) fails its `wait_exit` call, which is how the router learns that the replica is down; a
new replica is then started in its place (at most `_REPLACEMENTS` times an instance's replica count).
Stopping stops every server (SIGTERM, then the actor is killed) and waits until Ray reports each actor
dead. What to serve, and how many replicas, comes from the config's `ray` block (`gymhall.scale.served`).
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from gymhall.config.settings import ServerKind
from gymhall.exceptions import ConfigError, ServerStartError
from gymhall.scale.replica import ReplicaAddress, ReplicaFailure, ReplicaSpec, ServerReplica
from gymhall.scale.router import Replica, ReplicaRouter
from gymhall.scale.served import ServedInstance, replica_secret, replica_table
from gymhall.server.sessions import HandleSigner
from gymhall.wire.contract import session_cookie_name

__all__ = ["ACTOR_PREFIX", "RayServing"]

ACTOR_PREFIX = "gymhall-serve"
"""Every replica actor is named `gymhall-serve/<run>/<instance>#<index>` (`ray.util.list_named_actors`)."""

_WATCH_S = 0.25  # how often the watcher asks Ray about the replicas, and the stop flag is checked
_STOP_S = 15.0  # how long stopping waits for Ray to report every actor dead
_REPLACEMENTS = 4  # an instance gets at most this many times its replicas in all: a crash loop ends


class _Interrupted(Exception):
    """Ctrl-C or SIGTERM while the replicas were starting."""


@dataclass
class _Running:
    """A started replica: its actor, the call that ends when its server does, and the router's record."""

    spec: ReplicaSpec
    actor: Any
    exit_ref: Any
    replica: Replica
    router: ReplicaRouter


class RayServing:
    """Serves `instances` on a Ray cluster until stopped: `run()` for the CLI, or `with RayServing(...)`."""

    def __init__(
        self,
        instances: Sequence[ServedInstance],
        *,
        address: str = "auto",
        ready_timeout: float = 30.0,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.instances = list(instances)
        self.address = address
        self.ready_timeout = ready_timeout
        self.routers: dict[str, ReplicaRouter] = {}
        self.run_id = secrets.token_hex(4)
        self._out = out if out is not None else sys.stdout
        self._err = err if err is not None else sys.stderr
        self._running: list[_Running] = []
        self._created: list[Any] = []  # every actor made, started or not, so a failed start leaves none
        self._sockets: list[socket.socket] = []
        self._owns_connection = False
        self._stop = threading.Event()
        self._servers: list[Any] = []  # the routers' uvicorn servers
        self._threads: list[threading.Thread] = []
        self._actor_class: Any = None
        self._next_index: dict[str, int] = {}  # the index the next replica of each instance gets
        self._replacing: dict[str, int] = {}  # replacements starting, by instance

    @property
    def urls(self) -> dict[str, str]:
        """Each instance's one address (its router), by instance name."""
        return {instance.name: instance.url for instance in self.instances}

    @property
    def replicas(self) -> list[Replica]:
        """Every replica the router knows, up or down."""
        return [running.replica for running in self._running]

    @property
    def actors(self) -> list[Any]:
        """The replicas' actor handles."""
        return [running.actor for running in self._running]

    def __enter__(self) -> RayServing:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Reach the cluster, start every replica and every router; returns once all answer."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self._sockets = [_bind(instance) for instance in self.instances]  # a busy port fails before Ray is reached
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=None if self.address == "auto" else self.address, logging_level="WARNING")
            self._owns_connection = True
        pending = [
            self._launch(instance, index) for instance in self.instances for index in range(instance.options.replicas)
        ]
        for instance, spec, secret, actor, ref in pending:
            self._register(instance, spec, secret, actor, self._started(instance, spec, ref))
        self._serve_routers(self._sockets)
        self._threads.append(threading.Thread(target=self._watch, name="gymhall-ray-watch", daemon=True))
        self._threads[-1].start()

    def _launch(self, instance: ServedInstance, index: int) -> tuple[ServedInstance, ReplicaSpec, str | None, Any, Any]:
        """Create replica `index` of `instance` as an actor and ask it to start; answers the start's ref."""
        ray = _ray()
        secret = replica_secret(instance, index)
        spec = instance.replica_spec(index, secret, self.ready_timeout)
        if self._actor_class is None:  # one remote class: Ray exports it to the cluster once
            self._actor_class = ray.remote(ServerReplica)
        actor = self._actor_class.options(
            name=f"{ACTOR_PREFIX}/{self.run_id}/{spec.label}",
            num_cpus=instance.options.num_cpus,
            resources=dict(instance.options.resources) or None,
            scheduling_strategy="SPREAD",
            max_restarts=0,
            max_concurrency=4,
        ).remote(spec)
        self._created.append(actor)
        self._next_index[instance.name] = max(self._next_index.get(instance.name, 0), index + 1)
        return instance, spec, secret, actor, actor.start.remote()

    def _register(
        self, instance: ServedInstance, spec: ReplicaSpec, secret: str | None, actor: Any, address: ReplicaAddress
    ) -> _Running:
        """Put a started replica in its instance's router, and under watch."""
        signer = HandleSigner(secret) if secret is not None else None
        replica = Replica(spec.instance, spec.index, address.url, address.node_id, address.node_ip, signer)
        router = self.routers.get(instance.name)
        if router is None:
            cookie = session_cookie_name(instance.name) if instance.kind == ServerKind.RESOURCES_SERVERS else None
            router = self.routers[instance.name] = ReplicaRouter(instance.name, [replica], cookie_name=cookie)
        else:
            router.replicas.append(replica)
        running = _Running(spec, actor, actor.wait_exit.remote(), replica, router)
        self._running.append(running)
        return running

    def _started(self, instance: ServedInstance, spec: ReplicaSpec, ref: Any) -> ReplicaAddress:
        ray = _ray()
        # Placement plus start-up: a replica Ray cannot place (resources no node has) waits here.
        deadline = time.monotonic() + self.ready_timeout + 30.0
        ready: list[Any] = []
        while not ready and time.monotonic() < deadline:
            if self._stop.is_set():
                raise _Interrupted
            ready, _ = ray.wait([ref], timeout=_WATCH_S)
        if not ready:
            wanted = {"CPU": instance.options.num_cpus, **instance.options.resources}
            raise ServerStartError(
                f"replica {spec.label} was not placed and started within {self.ready_timeout + 30:g} s "
                f"(each replica asks for {wanted})",
                "check that some node has those resources free (`ray status`), or lower num_cpus/resources "
                f"under ray.servers.{instance.name}; if it is only slow to start, raise --ready-timeout",
                server=spec.label,
            )
        try:
            result: ReplicaAddress | ReplicaFailure = ray.get(ref)
        except ray.exceptions.RayError as exc:
            raise ServerStartError(
                f"replica {spec.label}'s actor failed: {getattr(exc, 'cause', None) or exc}",
                "every node needs gymhall, the configs and the environment's code at the same paths",
                server=spec.label,
            ) from None
        if isinstance(result, ReplicaFailure):
            raise ServerStartError(result.problem, result.fix, server=spec.label, output=result.output)
        return result

    def _serve_routers(self, sockets: Sequence[socket.socket]) -> None:
        import asyncio

        import uvicorn

        from gymhall.config.connections import ConnectionSettings
        from gymhall.server.connections import uvicorn_options

        options = uvicorn_options(ConnectionSettings())
        self._servers = [
            uvicorn.Server(
                uvicorn.Config(
                    self.routers[i.name],
                    access_log=False,
                    log_level="warning",
                    server_header=False,  # the replica's answer carries its own
                    date_header=False,
                    **options,
                )
            )
            for i in self.instances
        ]

        async def serve_all() -> None:
            await asyncio.gather(*(s.serve(sockets=[sock]) for s, sock in zip(self._servers, sockets, strict=True)))

        # Its own thread: uvicorn takes over SIGINT in the main thread, which the CLI keeps for stopping.
        thread = threading.Thread(target=asyncio.run, args=(serve_all(),), name="gymhall-ray-routers", daemon=True)
        thread.start()
        self._threads.append(thread)
        deadline = time.monotonic() + 10.0
        while not all(server.started for server in self._servers):
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ServerStartError("the routers did not start", "check the output above", server="router")
            time.sleep(0.01)

    def _watch(self) -> None:
        """Mark a replica down in its router once Ray says its actor died, or its server exited, and start
        another in its place (its sessions are lost with it: they answer 503 naming it)."""
        ray = _ray()
        watched = {running.exit_ref: running for running in self._running}
        starting: dict[Any, tuple[ServedInstance, ReplicaSpec, str | None, Any]] = {}
        while (watched or starting) and not self._stop.is_set():
            ready, _ = ray.wait([*watched, *starting], num_returns=1, timeout=_WATCH_S)
            for ref in ready:
                if self._stop.is_set():
                    return
                if ref in starting:
                    instance, spec, secret, actor = starting.pop(ref)
                    self._replacing[instance.name] -= 1
                    with contextlib.suppress(ServerStartError, _Interrupted):
                        running = self._register(instance, spec, secret, actor, self._started(instance, spec, ref))
                        watched[running.exit_ref] = running
                        self._say(f"gymhall: replica {spec.label} replaces a lost one: {running.replica.url}")
                        continue
                    with contextlib.suppress(Exception):
                        ray.kill(actor, no_restart=True)
                    self._say(f"gymhall: replica {spec.label} did not start; {instance.name} has one replica fewer")
                    continue
                running = watched.pop(ref)
                try:
                    reason = str(ray.get(ref))
                    with contextlib.suppress(Exception):
                        ray.kill(running.actor, no_restart=True)
                except ray.exceptions.RayError as exc:
                    reason = f"its actor died ({type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]})"
                running.router.mark_down(running.replica, reason)
                where = running.replica.node_ip or "?"
                self._say(f"gymhall: replica {running.replica.label} on node {where} is down: {reason}")
                instance = next(i for i in self.instances if i.name == running.router.instance)
                if self._next_index[instance.name] < instance.options.replicas * _REPLACEMENTS:
                    self._replacing[instance.name] = self._replacing.get(instance.name, 0) + 1
                    _, spec, secret, actor, start = self._launch(instance, self._next_index[instance.name])
                    starting[start] = (instance, spec, secret, actor)

    def instance_down(self) -> str | None:
        """The name of an instance none of whose replicas is up, if any."""
        for name, router in self.routers.items():
            if not self._replacing.get(name) and all(replica.down is not None for replica in router.replicas):
                return name
        return None

    def stop(self) -> int:
        """Stop the routers and every replica; wait until Ray reports each actor dead. Returns how many stopped."""
        self._stop.set()
        for server in self._servers:
            server.should_exit = True
        if not self._servers:  # the routers never served: their sockets are still this process's
            for sock in self._sockets:
                sock.close()
        if not self._created:
            self._disconnect()
            return 0
        ray = _ray()
        with contextlib.suppress(Exception):  # SIGTERM first: the servers' shutdown hooks run
            ray.wait([actor.stop.remote() for actor in self._created], num_returns=len(self._created), timeout=5.0)
        for actor in self._created:
            with contextlib.suppress(Exception):
                ray.kill(actor, no_restart=True)
        self._created = []
        refs = [running.exit_ref for running in self._running]
        ready, left = ray.wait(refs, num_returns=len(refs), timeout=_STOP_S)
        count = len(self._running)
        if left:
            self._say(f"gymhall: {len(left)} replica actor(s) not yet reported dead by Ray after {_STOP_S:g} s")
        self._running = []
        for thread in self._threads:
            thread.join(5.0)
        self._disconnect()
        return count - len(left)

    def _disconnect(self) -> None:
        if self._owns_connection:
            _ray().shutdown()
            self._owns_connection = False

    def request_stop(self) -> None:
        """Ask `run` to return; safe from a signal handler."""
        self._stop.set()

    def run(self, *, on_ready: Callable[[], None] | None = None) -> int:
        """Start, print every replica's node and address, serve until Ctrl-C or SIGTERM; the exit code."""
        import signal

        def stop_on(sig: int, frame: object) -> None:
            self.request_stop()

        previous = {sig: signal.signal(sig, stop_on) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            try:
                self.start()
            except _Interrupted:
                self._say("gymhall: stopped before every replica was ready")
                return 0
            except ServerStartError as exc:
                lines = [f"gymhall: error: {exc.problem}"] + [f"    {line}" for line in exc.output]
                self._say("\n".join([*lines, f"  Fix: {exc.fix}"]))
                return 1
            for sig in previous:  # again: connecting to Ray may have put its own handlers in
                signal.signal(sig, stop_on)
            self._write(self._out, self.table())
            if on_ready is not None:
                on_ready()
            gone: str | None = None
            while not self._stop.wait(_WATCH_S):
                if (gone := self.instance_down()) is not None:
                    self._say(f"gymhall: no replica of {gone!r} is up; stopping")
                    break
            started = time.monotonic()
            self._say(f"gymhall: stopping {len(self._running)} replicas")
            stopped = self.stop()
            self._say(f"gymhall: {stopped} replicas stopped, their actors gone ({time.monotonic() - started:.1f} s)")
            return 1 if gone else 0
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def table(self) -> str:
        """Every instance's address, then each replica's node and address, as plain aligned text."""
        return replica_table(self.instances, self.routers)

    def _say(self, text: str) -> None:
        self._write(self._err, text)

    @staticmethod
    def _write(stream: TextIO, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            stream.write(text + "\n")
            stream.flush()


def _bind(instance: ServedInstance) -> socket.socket:
    from gymhall.config.connections import ConnectionSettings
    from gymhall.server.connections import listening_socket

    try:
        return listening_socket(instance.host, instance.port, ConnectionSettings().backlog)
    except OSError as exc:
        raise ConfigError(
            f"the router of {instance.name!r} cannot bind {instance.host}:{instance.port} ({exc.strerror or exc}).\n"
            f"  Fix: stop whatever uses port {instance.port}, or set another ({instance.key_path}.port=<port>)"
        ) from None


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray, which is not installed.\n  Fix: pip install 'gymhall[ray]'") from None
    return ray
