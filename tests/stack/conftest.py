"""Fixtures of the stack tests: configs written into `tmp_path`, and the weather example to serve."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

WEATHER_APP = Path(__file__).resolve().parents[2] / "examples" / "weather" / "app.py"

ResourcesBlock = Callable[..., str]


@pytest.fixture
def weather_dir(tmp_path: Path) -> Path:
    """`tmp_path/weather/app.py`: the seed-style weather example, to name as `weather/app.py` in a config."""
    target = tmp_path / "weather"
    target.mkdir(exist_ok=True)
    shutil.copy(WEATHER_APP, target / "app.py")
    return target


def _resources_block(name: str, entrypoint: str, domain: str = "agent", **settings: object) -> str:
    lines = [f"{name}:", "  resources_servers:", f"    impl_{name}:"]
    lines += [
        f"      {key}: {value}" for key, value in {"entrypoint": entrypoint, "domain": domain, **settings}.items()
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def resources_block() -> ResourcesBlock:
    """`resources_block(name, entrypoint, domain="agent", **settings)`: the YAML of one resources server."""
    return _resources_block


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def write() -> Callable[[Path, str], Path]:
    """`write(path, text)`: writes the file and returns its path."""
    return _write
