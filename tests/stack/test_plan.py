"""`plan_servers`: one `ServerPlan` per server instance, planned without starting a process."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gymhall.config.loading import load_config
from gymhall.exceptions import ConfigError
from gymhall.stack.plan import plan_servers


def test_plan_file_entrypoint_runs_from_its_directory(
    weather_dir: Path, resources_block: Callable[..., str], write: Callable[[Path, str], Path], tmp_path: Path
) -> None:
    app_dir = weather_dir
    config_path = write(
        tmp_path / "c.yaml",
        resources_block("a", "weather/app.py") + resources_block("b", "weather/app.py", port=0),
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


def test_plan_module_entrypoint_runs_through_run_server(
    resources_block: Callable[..., str], write: Callable[[Path, str], Path], unused_port: int, tmp_path: Path
) -> None:
    port = unused_port
    config_path = write(tmp_path / "c.yaml", resources_block("echo", "echo_env:Echo", "other", port=port))
    plans = plan_servers(load_config([config_path]))
    (plan,) = plans
    assert plan.port == port
    assert plan.cwd == Path.cwd()
    assert plan.command[:5] == [sys.executable, "-m", "gymhall", "run-server", "echo_env:Echo"]


def test_plan_selects_named_instances(
    weather_dir: Path, resources_block: Callable[..., str], write: Callable[[Path, str], Path], tmp_path: Path
) -> None:
    config_path = write(
        tmp_path / "c.yaml", resources_block("a", "weather/app.py") + resources_block("b", "weather/app.py")
    )
    plans = plan_servers(load_config([config_path]), names=["b"])
    assert [p.name for p in plans] == ["b"]


def test_plan_passes_config_paths_and_env_file_as_absolute_paths(
    weather_dir: Path,
    resources_block: Callable[..., str],
    write: Callable[[Path, str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write(tmp_path / "a.yaml", resources_block("a", "weather/app.py"))
    write(tmp_path / "b.yaml", "note: from b\n")
    write(tmp_path / "env.yaml", "policy_api_key: sk-not-shown\n")
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


def test_plan_rejects_two_servers_on_one_port(
    weather_dir: Path,
    resources_block: Callable[..., str],
    write: Callable[[Path, str], Path],
    unused_port: int,
    tmp_path: Path,
) -> None:
    port = unused_port
    config_path = write(
        tmp_path / "c.yaml",
        resources_block("a", "weather/app.py", port=port) + resources_block("b", "weather/app.py", port=port),
    )
    with pytest.raises(ConfigError, match=f"both set to port {port}"):
        plan_servers(load_config([config_path]))


def test_plan_names_the_dotenv_path_file_to_children(
    weather_dir: Path,
    resources_block: Callable[..., str],
    write: Callable[[Path, str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write(tmp_path / "a.yaml", resources_block("a", "weather/app.py"))
    write(tmp_path / "env.dev.yaml", "note: dev\n")
    monkeypatch.chdir(tmp_path)
    overrides = ["++dotenv_path=env.dev.yaml"]
    (plan,) = plan_servers(load_config(["a.yaml"], overrides), overrides)
    assert plan.command.count(f"++dotenv_path={tmp_path / 'env.dev.yaml'}") == 1


def test_plan_without_env_file_passes_none(
    weather_dir: Path,
    resources_block: Callable[..., str],
    write: Callable[[Path, str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write(tmp_path / "a.yaml", resources_block("a", "weather/app.py"))
    monkeypatch.chdir(tmp_path)
    (plan,) = plan_servers(load_config(["a.yaml"]))
    assert not any("dotenv_path" in arg for arg in plan.command)
