"""NeMo Gym's head server for a gymhall stack, so NeMo Gym's collectors find its servers unchanged.

A NeMo Gym process started outside the launcher (``ng_collect_rollouts`` in 0.4, ``gym eval run
--no-serve`` in 0.7, ``gym env status``) asks the head server for the whole config and reads every
server's address from it. `gymhall serve` answers as NeMo Gym's head server does:

- ``GET /global_config_dict_yaml``: the loaded config as YAML, sent as a JSON string (clients do
  ``OmegaConf.create(json.loads(body))``), with every started instance's ``host`` and ``port`` filled
  in and ``head_server: {host, port}``;
- ``GET /server_instances``: one entry per started server (``gym env status`` reads it);
- ``GET /`` and ``/livez``: ``{"status": "ok"}``; ``/readyz``, ``/healthz``, ``/health``: 503
  ``{"status": "starting"}`` until every server answered, then 200.

NeMo Gym 0.7's collector posts ``/run`` and ``/aggregate_metrics`` only to an environment server
that names the row's agent. For each started agent that none names, the served config gets NeMo Gym's
own ``legacy_agent`` relay entry, ``<stem>_environment_server``, whose host and port are the agent's:
the collector then reaches gymhall's agent directly, and the agent answers both routes itself.

Unlike NeMo Gym's, the served config has secret-looking values replaced by ``***``: the port is
open to every local user, and a collector needs only addresses.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gymhall.config.settings import GymConfig, ServerKind, config_error, local_url, redact
from gymhall.exceptions import ServerStartError
from gymhall.server.connections import listening_socket
from gymhall.stack.plan import ServerPlan

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "DEFAULT_HEAD_PORT",
    "HeadServer",
    "StartedServer",
    "environment_server_name",
    "plan_head",
    "served_config",
]

#: NeMo Gym's default head-server port: collectors look there unless told ``++head_server.port=P``.
DEFAULT_HEAD_PORT = 11000
HEAD_KEY = "head_server"
ENVIRONMENT_SERVERS = "environment_servers"  # NeMo Gym 0.7's fourth server kind
_ENVIRONMENT_SUFFIX = "_environment_server"
_START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class StartedServer:
    """A running child of the stack, as ``/server_instances`` lists it."""

    plan: ServerPlan
    pid: int
    start_time: float  # seconds since the epoch


def environment_server_name(agent: str, implementation: str, taken: Sequence[str] = ()) -> str:
    """The name NeMo Gym 0.7 gives an agent's generated relay: the agent's stem + ``_environment_server``.

    The stem is the agent name without ``_<implementation>`` (else without ``_agent``), so
    ``counter_simple_agent`` becomes ``counter_environment_server``; a name already in `taken` gets
    the whole agent name instead, then a number.
    """
    stem = agent.removesuffix(f"_{implementation}").removesuffix(implementation).rstrip("_")
    if stem == agent:
        stem = agent.removesuffix("_agent").rstrip("_")
    candidates = [f"{stem or implementation}{_ENVIRONMENT_SUFFIX}", f"{agent}{_ENVIRONMENT_SUFFIX}"]
    candidates += [f"{agent}{_ENVIRONMENT_SUFFIX}_{n}" for n in range(2, 100)]
    return next(name for name in candidates if name not in taken)


def served_config(config: GymConfig, plans: Sequence[ServerPlan], host: str, port: int) -> dict[str, Any]:
    """The config the head server serves: `config` with the planned addresses, relays and itself.

    Each planned instance's block gets its ``host`` and ``port``; each planned agent that no
    ``environment_servers`` block names gets a ``legacy_agent`` entry at the agent's own address,
    and a ``legacy_agent`` entry the config declares for a planned agent gets that address too
    (gymhall starts no relay process: the agent answers ``/run`` and ``/aggregate_metrics`` itself).
    """
    values: dict[str, Any] = redact(config.values)
    for plan in plans:
        instance = config.server(plan.name)
        block = values[plan.name][instance.kind.value][instance.implementation]
        block.update(host=plan.host, port=plan.port)
    agents = {plan.name: plan for plan in plans if plan.kind == ServerKind.RESPONSES_API_AGENTS.value}
    fronted = set()
    for implementation, settings in _environment_entries(values):
        name = str(settings["agent_server"].get("name"))
        fronted.add(name)
        if implementation == "legacy_agent" and name in agents:
            settings.update(host=agents[name].host, port=agents[name].port)
    for plan in plans:
        instance = config.server(plan.name)
        if instance.kind != ServerKind.RESPONSES_API_AGENTS or plan.name in fronted:
            continue
        name = environment_server_name(plan.name, instance.implementation, list(values))
        relay = {
            "entrypoint": "app.py",
            "host": plan.host,
            "port": plan.port,
            "agent_server": {"type": ServerKind.RESPONSES_API_AGENTS.value, "name": plan.name},
        }
        values[name] = {ENVIRONMENT_SERVERS: {"legacy_agent": relay}}
    values[HEAD_KEY] = {"host": host, "port": port}
    escaped: dict[str, Any] = _escape_interpolations(values)
    return escaped


def _environment_entries(values: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every ``environment_servers`` entry of the config naming an agent: (implementation, settings)."""
    entries = []
    for block in values.values():
        servers = block.get(ENVIRONMENT_SERVERS) if isinstance(block, Mapping) else None
        for implementation, settings in servers.items() if isinstance(servers, dict) else ():
            if isinstance(settings, dict) and isinstance(settings.get("agent_server"), Mapping):
                entries.append((str(implementation), settings))
    return entries


def _escape_interpolations(value: Any) -> Any:
    # The client reads the YAML with OmegaConf, which would resolve a literal "${...}" in a value.
    if isinstance(value, Mapping):
        return {key: _escape_interpolations(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escape_interpolations(item) for item in value]
    if isinstance(value, str) and "${" in value:
        return value.replace("${", "\\${")
    return value


def plan_head(config: GymConfig, plans: Sequence[ServerPlan]) -> HeadServer:
    """The head server of a stack, its port bound now (so a clash is reported before any server starts).

    Its address is ``head_server.host`` (else ``default_host``, else 127.0.0.1) and
    ``head_server.port`` (0: a free one). With no port configured it takes NeMo Gym's 11000, or a
    free port when 11000 is taken, and `HeadServer.note` says which, for the collector's
    ``++head_server.port``.
    """
    head = config.values.get(HEAD_KEY)
    settings: Mapping[str, Any] = head if isinstance(head, Mapping) else {}
    host = str(settings.get("host") or config.values.get("default_host") or "127.0.0.1")
    configured = settings.get("port")
    taken = {plan.port for plan in plans if plan.host == host}
    note = None
    if configured is not None:
        port = int(configured)
        if port and port in taken:
            owner = next(plan.name for plan in plans if plan.port == port and plan.host == host)
            raise config_error(
                f"the head server and server {owner!r} are both set to port {port}",
                "give the head server another port (head_server.port=<port>, 0 for a free one)",
                key=f"{HEAD_KEY}.port",
            )
        sock = _bind(host, port)
        if sock is None:
            raise config_error(
                f"the head server cannot bind {host}:{port} (address in use)",
                f"stop whatever uses port {port}, or set another: head_server.port=<port> (0 for a free one)",
                key=f"{HEAD_KEY}.port",
            )
    else:
        sock = None if DEFAULT_HEAD_PORT in taken else _bind(host, DEFAULT_HEAD_PORT)
        if sock is None:
            sock = _bind(host, 0)
            assert sock is not None  # the OS picks a free port
            note = (
                f"port {DEFAULT_HEAD_PORT}, NeMo Gym's default head port, is taken; the head server uses "
                f"{sock.getsockname()[1]}: give NeMo Gym's collectors ++head_server.port={sock.getsockname()[1]}"
            )
    bound_port = int(sock.getsockname()[1])
    implementations = {plan.name: config.server(plan.name).implementation for plan in plans}
    return HeadServer(served_config(config, plans, host, bound_port), sock, implementations, note=note)


def _bind(host: str, port: int) -> socket.socket | None:
    try:
        return listening_socket(host, port, 128)
    except OSError:
        return None


class HeadServer:
    """Serves a stack's config and process list from a thread of the launcher, as NeMo Gym's head does.

    `start` serves on the bound socket; `mark_ready` fills ``/server_instances`` and turns the
    readiness routes to 200; `stop` closes it.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        sock: socket.socket,
        implementations: Mapping[str, str] | None = None,
        *,
        note: str | None = None,
    ) -> None:
        self.config = dict(config)
        self.note = note
        self._implementations = dict(implementations or {})
        self._sock = sock
        import yaml

        # OmegaConf reads the YAML back; its own dump is plain YAML, so yaml's is equivalent.
        self._yaml_body = json.dumps(yaml.safe_dump(self.config, sort_keys=False, allow_unicode=True)).encode()
        self._instances: list[dict[str, Any]] = []
        self._ready = False
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self.config[HEAD_KEY]["host"])

    @property
    def port(self) -> int:
        return int(self.config[HEAD_KEY]["port"])

    @property
    def url(self) -> str:
        """The head server's base URL from this machine."""
        return local_url(self.host, self.port)

    def app(self) -> Starlette:
        """The head server's routes, as an ASGI app."""
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        async def live(request: Request) -> Response:
            return JSONResponse({"status": "ok"})

        async def ready(request: Request) -> Response:
            return JSONResponse(
                {"status": "ok"} if self._ready else {"status": "starting"}, 200 if self._ready else 503
            )

        async def config_yaml(request: Request) -> Response:
            return Response(self._yaml_body, media_type="application/json")

        async def instances(request: Request) -> Response:
            return JSONResponse(self._instances)

        routes = [Route(path, live, methods=["GET"]) for path in ("/", "/livez")]
        routes += [Route(path, ready, methods=["GET"]) for path in ("/readyz", "/healthz", "/health")]
        routes += [
            Route("/global_config_dict_yaml", config_yaml, methods=["GET"]),
            Route("/server_instances", instances, methods=["GET"]),
        ]
        return Starlette(routes=routes)

    def mark_ready(self, started: Sequence[StartedServer]) -> None:
        """Every server answered: list them in ``/server_instances`` and answer readiness with 200."""
        self._instances = [_instance_entry(s, self._implementations.get(s.plan.name, "")) for s in started]
        self._ready = True

    def start(self) -> None:
        """Serve in a daemon thread; returns once it accepts requests."""
        import uvicorn

        config = uvicorn.Config(self.app(), access_log=False, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="gymhall-head-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServerStartError(
                    f"the head server did not start on {self.url}",
                    "check the output above; set head_server.port=<port> to try another port",
                    server=HEAD_KEY,
                )
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice, or before `start`."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self._sock.close()


def _instance_entry(server: StartedServer, implementation: str) -> dict[str, Any]:
    # The fields of NeMo Gym's ServerInstanceDisplayConfig, as its launcher fills them.
    plan = server.plan
    return {
        "config_path": plan.name,
        "dir_path": str(Path(plan.cwd)),
        "entrypoint": plan.entrypoint,
        "host": plan.host,
        "name": implementation,
        "pid": server.pid,
        "port": plan.port,
        "process_name": plan.name,
        "server_type": plan.kind,
        "start_time": server.start_time,
        "status": None,
        "uptime_seconds": None,
        "url": f"http://{plan.host}:{plan.port}",
    }
