"""Port assignment for a stack: configured ports checked free and unique, free ones picked for the rest."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from gymhall.config.settings import GymConfig
from gymhall.exceptions import ConfigError
from gymhall.stack.ports import assign_ports, bind_host


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(**ports: int | None) -> GymConfig:
    block = {"entrypoint": "app.py", "domain": "other"}
    return GymConfig.from_values(
        {name: {"resources_servers": {"impl": {**block, "port": port}}} for name, port in ports.items()}
    )


def test_configured_ports_are_kept_and_missing_ones_picked_free_and_distinct() -> None:
    port = _unused_port()
    config = _config(fixed=port, auto=None, zero=0)
    ports = assign_ports(list(config.servers.values()))
    assert ports["fixed"] == port
    assert len(set(ports.values())) == 3 and all(p > 0 for p in ports.values())


def test_a_configured_port_in_use_names_the_key() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        with pytest.raises(ConfigError) as info:
            assign_ports(list(_config(env=port).servers.values()))
    message = str(info.value)
    assert f"server 'env' cannot bind 127.0.0.1:{port}" in message
    assert "env.resources_servers.impl.port" in message


def test_bind_host_is_the_host_setting_else_loopback() -> None:
    (instance,) = _config(env=None).servers.values()
    assert bind_host(instance) == "127.0.0.1"
    assert bind_host(replace(instance, settings={**instance.settings, "host": "0.0.0.0"})) == "0.0.0.0"
    assert bind_host(replace(instance, settings={"host": None})) == "127.0.0.1"
