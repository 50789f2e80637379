"""What `gymhall serve` starts: one `ServerPlan` per server instance of a config, with its command and port.

`plan_servers` turns a loaded `GymConfig` into plans; `gymhall.stack.launcher.Launcher` runs them.
Planning starts nothing, so a config mistake (no entrypoint, a port in use) is reported before any
server runs.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gymhall.config.env_file import find_env_file
from gymhall.config.settings import GymConfig, config_error, is_secret_key, local_url
from gymhall.stack.ports import assign_ports, bind_host

__all__ = ["ServerPlan", "plan_servers"]


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
    ports = assign_ports(selected)
    # Every child learns every address, so an agent finds its servers by instance name.
    child_overrides += [
        f"++{instance.key_path}.{key}={value}"
        for instance in selected
        for key, value in (("host", bind_host(instance)), ("port", ports[instance.name]))
    ]
    plans = []
    for instance in selected:
        host, port = bind_host(instance), ports[instance.name]
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


def _child_config_args(config: GymConfig, overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """The ``--config`` flags and the overrides every child gets, independent of its working directory."""
    files = [str(Path(p).resolve()) for p in config.values.get("config_paths") or []]
    flags = [arg for path in files for arg in ("--config", path)]
    passed: list[str] = []
    dotenv_path: str | None = None
    for item in overrides:
        key, eq, value = item.lstrip("+").partition("=")
        if key == "config_paths":
            continue  # already expanded into `files`, as absolute paths
        if key == "dotenv_path" and eq:
            dotenv_path = value
            continue
        passed.append(item)
    # A child resolves ./env.yaml against its own cwd; name the file this process used instead.
    env_file = find_env_file("auto", dotenv_path=dotenv_path)
    if env_file is not None:
        passed.append(f"++dotenv_path={env_file}")
    return flags, passed


def _redact_arg(arg: str) -> str:
    key, eq, _ = arg.partition("=")
    return shlex.quote(f"{key}=***" if eq and is_secret_key(key.rsplit(".", 1)[-1]) else arg)
