"""What `gymhall serve --ray` serves: each planned instance with its replicas' options, from the config's `ray` block.

    ray:
      address: auto                 # or `ray: auto` alone; `gymhall serve --ray ADDRESS` overrides it
      servers:                      # per instance (its top-level name): replicas, and what Ray reserves for each
        weather_resources_server: {replicas: 4, num_cpus: 1, resources: {sandbox: 1}}

Every resources-server replica signs its session handles with a secret of its own (`replica_secret`),
so a handle names the replica that holds its session (`gymhall.scale.router`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gymhall.config.settings import GymConfig, ServerKind, local_url
from gymhall.exceptions import ConfigError
from gymhall.scale.replica import ReplicaSpec

if TYPE_CHECKING:
    from gymhall.scale.router import ReplicaRouter

__all__ = [
    "PlannedServer",
    "ReplicaOptions",
    "ServedInstance",
    "ray_address",
    "replica_secret",
    "replica_table",
    "served_instances",
]

_SECRET_ENV = "GYMHALL_REPLICA_SESSION_SECRET"  # the replica's own secret, kept off its command line


@dataclass(frozen=True)
class ReplicaOptions:
    """An instance's replicas and what Ray reserves for each (`ray.servers.<instance>` in the config)."""

    replicas: int = 1
    # A server mostly waits on I/O, so a token amount by default: Ray's SPREAD places zero-resource
    # actors all on one node (measured on Ray 2.60), a hundredth of a CPU each spreads them.
    num_cpus: float = 0.01
    resources: Mapping[str, float] = field(default_factory=dict)


class PlannedServer(Protocol):
    """What `gymhall.stack.plan.ServerPlan` holds and serving reads (the plan is the stack layer's)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def command(self) -> list[str]: ...
    @property
    def cwd(self) -> Path: ...
    def display_command(self) -> str: ...


@dataclass(frozen=True)
class ServedInstance:
    """An instance to serve on the cluster: its router's address, its command, its replicas' options."""

    name: str
    kind: str
    host: str
    port: int
    command: tuple[str, ...]
    cwd: str
    display: str
    key_path: str
    options: ReplicaOptions = ReplicaOptions()
    session_secret: str | None = field(default=None, repr=False)  # the configured one, if any

    @property
    def url(self) -> str:
        """The router's URL: the instance's one address."""
        return local_url(self.host, self.port)

    def replica_spec(self, index: int, secret: str | None, ready_timeout_s: float) -> ReplicaSpec:
        """Replica `index`: the instance's command on port 0 (a free one on its node), with its own secret."""
        command = list(self.command)
        command[command.index("--port") + 1] = "0"
        env = {}
        if secret is not None:  # the override reads it from the environment, so no `ps` shows it
            command.append(f"++{self.key_path}.session_secret=${{oc.env:{_SECRET_ENV}}}")
            env[_SECRET_ENV] = secret
        return ReplicaSpec(self.name, index, tuple(command), self.cwd, self.display, env, ready_timeout_s)


def ray_address(config: GymConfig, given: str | None) -> str | None:
    """The cluster to serve on: `--ray ADDRESS`, else the config's `ray` (or NeMo Gym's `ray_head_node_address`).

    None when neither asks for Ray. `auto` connects to the cluster this machine joined (`ray start`),
    else starts a local one.
    """
    block = config.values.get("ray")
    if given:
        return given
    if block is None or block is False:
        return None
    if isinstance(block, Mapping):
        return str(block.get("address") or config.values.get("ray_head_node_address") or "auto")
    return "auto" if block is True else str(block)


def served_instances(plans: Sequence[PlannedServer], config: GymConfig) -> list[ServedInstance]:
    """The plans as served on the cluster, with the options of the config's `ray.servers` block."""
    block = config.values.get("ray")
    servers: Mapping[str, Any] = (block.get("servers") or {}) if isinstance(block, Mapping) else {}
    if isinstance(block, Mapping) and (extra := sorted(set(block) - {"address", "servers"})):
        raise ConfigError(f"ray.{extra[0]}: unknown key.\n  Fix: the ray block holds `address` and `servers` only")
    planned = {plan.name for plan in plans}
    for name in servers:
        if name not in planned:
            raise ConfigError(
                f"ray.servers.{name}: no server instance {name!r} is served.\n  Fix: name one of "
                + ", ".join(sorted(planned))
            )
    served = []
    for plan in plans:
        instance = config.server(plan.name)
        secret = instance.settings.get("session_secret")
        served.append(
            ServedInstance(
                plan.name,
                plan.kind,
                plan.host,
                plan.port,
                tuple(plan.command),
                str(plan.cwd),
                plan.display_command(),
                instance.key_path,
                _options(plan.name, servers.get(plan.name)),
                str(secret) if secret and instance.kind == ServerKind.RESOURCES_SERVERS else None,
            )
        )
    return served


def _options(name: str, raw: Any) -> ReplicaOptions:
    if raw is None:
        return ReplicaOptions()
    where = f"ray.servers.{name}"
    if not isinstance(raw, Mapping) or (extra := sorted(set(raw) - {"replicas", "num_cpus", "resources"})):
        raise ConfigError(
            f"{where}: {'unknown key ' + repr(extra[0]) if isinstance(raw, Mapping) else 'not a mapping'}.\n"
            f"  Fix: write {where}: {{replicas: N, num_cpus: C, resources: {{NAME: AMOUNT}}}}"
        )
    try:
        options = ReplicaOptions(
            int(raw.get("replicas", 1)),
            float(raw.get("num_cpus", ReplicaOptions.num_cpus)),
            {str(key): float(value) for key, value in (raw.get("resources") or {}).items()},
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"{where}: {exc}.\n  Fix: replicas is a whole number, num_cpus and resources numbers"
        ) from None
    if options.replicas < 1 or options.num_cpus < 0 or any(v < 0 for v in options.resources.values()):
        raise ConfigError(f"{where}: replicas must be at least 1 and resources not negative.\n  Fix: correct them")
    return options


def replica_secret(instance: ServedInstance, index: int) -> str | None:
    """Each resources-server replica's own signing secret: so a handle names the replica that signed it."""
    if instance.kind != ServerKind.RESOURCES_SERVERS:
        return None
    if instance.session_secret is None:
        return secrets.token_urlsafe(32)
    # Derived from the configured one: handles stay verifiable by whoever holds the config's secret.
    return hmac.new(instance.session_secret.encode(), f"{instance.name}#{index}".encode(), hashlib.sha256).hexdigest()


def replica_table(instances: Sequence[ServedInstance], routers: Mapping[str, ReplicaRouter]) -> str:
    """Every instance's address, then each replica's node and address, as plain aligned text."""
    rows: list[tuple[str, ...]] = [("instance", "kind", "URL (routes by session)", "replica", "node", "replica URL")]
    for instance in instances:
        for position, replica in enumerate(routers[instance.name].replicas):
            head = (instance.name, instance.kind, instance.url) if position == 0 else ("", "", "")
            node = f"{replica.node_ip} ({replica.node_id[:8]})"
            rows.append((*head, replica.label, node, replica.url))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    rows.insert(1, tuple("-" * width for width in widths))
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    count = sum(instance.options.replicas for instance in instances)
    ready = f"gymhall: {_count(count, 'replica')} of {_count(len(instances), 'server')} on Ray, ready (Ctrl-C to stop)"
    return "\n".join([*lines, ready])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
