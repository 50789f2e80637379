"""Ports for the servers of a stack: each instance's configured port, checked free and unique, else a free one.

A configured port is bound once here so that a clash is a config error naming the key, rather than a
child exiting with "address already in use" after the others started.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from gymhall.config.settings import ServerInstance, config_error
from gymhall.exceptions import GymhallError

__all__ = ["assign_ports", "bind_host"]


def bind_host(instance: ServerInstance) -> str:
    """The address `instance` binds: its ``host`` setting, else loopback."""
    return str(instance.settings.get("host") or "127.0.0.1")


def assign_ports(instances: Sequence[ServerInstance]) -> dict[str, int]:
    """Each instance's port: its configured one (checked free and unique), else a free one."""
    ports: dict[str, int] = {}
    owners: dict[tuple[str, int], str] = {}
    for instance in instances:
        port = instance.settings.get("port")
        if not port:  # None or 0: pick one below, after every configured port is known
            continue
        address = (bind_host(instance), int(port))
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
            host = bind_host(instance)
            ports[instance.name] = _free_port(host, {p for h, p in owners if h == host})
            owners[(host, ports[instance.name])] = instance.name
    return ports


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
