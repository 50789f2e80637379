"""`plan_servers`: one `ServerPlan` per server instance, planned without starting a process."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

import pytest

from gymhall.config.loading import load_config
from gymhall.exceptions import ConfigError
from gymhall.stack.plan import plan_servers

WEATHER_APP = Path(__file__).resolve().parents[2] / "examples" / "weather" / "app.py"


def _weather_dir(tmp_path: Path) -> Path:
    target = tmp_path / "weather"
    target.mkdir(exist_ok=True)
    shutil.copy(WEATHER_APP, target / "app.py")
    return target


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _resources_block(name: str, entrypoint: str, domain: str = "agent", **settings: object) -> str:
    lines = [f"{name}:", "  resources_servers:", f"    impl_{name}:"]
    lines += [
        f"      {key}: {value}" for key, value in {"entrypoint": entrypoint, "domain": domain, **settings}.items()
    ]
    return "\n".join(lines) + "\n"


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_plan_file_entrypoint_runs_from_its_directory(tmp_path: Path) -> None:
    app_dir = _weather_dir(tmp_path)
    config_path = _write(
        tmp_path / "c.yaml",
        _resources_block("a", "weather/app.py") + _resources_block("b", "weather/app.py", port=0),
    )
    overrides = ["a.resources_servers.impl_a.max_sessions=7"]
    plans = plan_servers(load_config([config_path], overrides), overrides)
    assert [p.name for p in plans] == ["a", "b"]
    a, b = plans
    assert a.cwd == app_dir
    assert a.command[:2] == [sys.executable, str(app_dir / "app.py")]
    assert a.command[2:6] == ["--config", str(config_path.resolve()), "--name", "a"]
    assert a.command[6:11] == ["--host", "127.0.0.1", "--port", str(a.port), overrides[0]]
    # Every child learns every instance's address (agents find their servers by name).
    for command in (a.command, b.command):
        assert command[-4:] == [
            "++a.resources_servers.impl_a.host=127.0.0.1",
            f"++a.resources_servers.impl_a.port={a.port}",
            "++b.resources_servers.impl_b.host=127.0.0.1",
            f"++b.resources_servers.impl_b.port={b.port}",
        ]
    assert a.port != b.port and a.port > 0 and b.port > 0
    assert a.url == f"http://127.0.0.1:{a.port}"
    assert (a.kind, a.host) == ("resources_servers", "127.0.0.1")


def test_plan_module_entrypoint_runs_through_run_server(tmp_path: Path) -> None:
    port = _unused_port()
    config_path = _write(tmp_path / "c.yaml", _resources_block("echo", "echo_env:Echo", "other", port=port))
    plans = plan_servers(load_config([config_path]))
    (plan,) = plans
    assert plan.port == port
    assert plan.cwd == Path.cwd()
    assert plan.command[:5] == [sys.executable, "-m", "gymhall", "run-server", "echo_env:Echo"]


def test_plan_selects_named_instances(tmp_path: Path) -> None:
    _weather_dir(tmp_path)
    config_path = _write(
        tmp_path / "c.yaml", _resources_block("a", "weather/app.py") + _resources_block("b", "weather/app.py")
    )
    plans = plan_servers(load_config([config_path]), names=["b"])
    assert [p.name for p in plans] == ["b"]


def test_plan_passes_config_paths_and_env_file_as_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _weather_dir(tmp_path)
    _write(tmp_path / "a.yaml", _resources_block("a", "weather/app.py"))
    _write(tmp_path / "b.yaml", "note: from b\n")
    _write(tmp_path / "env.yaml", "policy_api_key: sk-not-shown\n")
    monkeypatch.chdir(tmp_path)
    overrides = ["+config_paths=[a.yaml,b.yaml]", "policy_api_key=sk-override"]
    (plan,) = plan_servers(load_config([], overrides), overrides)
    command = plan.command
    configs = [command[i + 1] for i, arg in enumerate(command) if arg == "--config"]
    assert configs == [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]
    assert not any(arg.lstrip("+").startswith("config_paths=") for arg in command)
    assert f"++dotenv_path={tmp_path / 'env.yaml'}" in command
    assert "policy_api_key=sk-override" in command
    shown = plan.display_command()
    assert "sk-override" not in shown
    assert "policy_api_key=***" in shown


def test_plan_rejects_two_servers_on_one_port(tmp_path: Path) -> None:
    _weather_dir(tmp_path)
    port = _unused_port()
    config_path = _write(
        tmp_path / "c.yaml",
        _resources_block("a", "weather/app.py", port=port) + _resources_block("b", "weather/app.py", port=port),
    )
    with pytest.raises(ConfigError, match=f"both set to port {port}"):
        plan_servers(load_config([config_path]))


def test_plan_names_the_dotenv_path_file_to_children(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _weather_dir(tmp_path)
    _write(tmp_path / "a.yaml", _resources_block("a", "weather/app.py"))
    _write(tmp_path / "env.dev.yaml", "note: dev\n")
    monkeypatch.chdir(tmp_path)
    overrides = ["++dotenv_path=env.dev.yaml"]
    (plan,) = plan_servers(load_config(["a.yaml"], overrides), overrides)
    assert plan.command.count(f"++dotenv_path={tmp_path / 'env.dev.yaml'}") == 1


def test_plan_without_env_file_passes_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _weather_dir(tmp_path)
    _write(tmp_path / "a.yaml", _resources_block("a", "weather/app.py"))
    monkeypatch.chdir(tmp_path)
    (plan,) = plan_servers(load_config(["a.yaml"]))
    assert not any("dotenv_path" in arg for arg in plan.command)
