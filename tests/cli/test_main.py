"""The `gymhall` command line: help texts, version, and config errors reported without tracebacks."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import gymhall
from gymhall.cli.main import app

runner = CliRunner()

WEATHER_APP = Path(__file__).resolve().parents[2] / "examples" / "weather" / "app.py"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def _server_config(tmp_path: Path, name: str, **settings: object) -> Path:
    lines = [f"{name}:", "  resources_servers:", f"    {name}:"]
    lines += [f"      {key}: {value}" for key, value in settings.items()]
    return _config(tmp_path, "\n".join(lines) + "\n")


def _weather_config(tmp_path: Path, **settings: object) -> Path:
    return _server_config(tmp_path, "weather", entrypoint=WEATHER_APP, domain="agent", **settings)


def test_help_describes_the_tool_and_shows_an_example() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "reinforcement-learning environments" in result.output
    assert "serve" in result.output
    assert "gymhall serve weather" in result.output


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "Usage" in result.output
    assert "serve" in result.output


def test_serve_help_shows_examples() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "Start every server instance" in result.output
    assert "--ready-timeout" in result.output
    assert "--name" in result.output
    assert "Examples" in result.output
    assert "gymhall serve weather" in result.output


def test_run_server_is_hidden() -> None:
    result = runner.invoke(app, ["--help"])
    assert "run-server" not in result.output


def test_bench_group_is_registered() -> None:
    result = runner.invoke(app, ["bench", "--help"])
    assert result.exit_code == 0
    assert "Benchmark" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"gymhall {gymhall.__version__}"


def test_python_dash_m_gymhall_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "gymhall", "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout.strip() == f"gymhall {gymhall.__version__}"


def test_importing_the_cli_loads_no_web_stack() -> None:
    code = (
        "import sys, gymhall.cli\n"
        "heavy = [m for m in ('fastapi', 'uvicorn', 'openai', 'httpx', 'starlette') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_serve_missing_config_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml" in result.output
    assert "not found" in result.output
    assert "Traceback" not in result.output


def test_serve_bad_domain_reports_the_key_and_a_suggestion(tmp_path: Path) -> None:
    config = _server_config(tmp_path, "my_env", entrypoint="app.py", domain="mathh")
    result = runner.invoke(app, ["serve", str(config)])
    assert result.exit_code == 2
    assert "domain" in result.output
    assert "Did you mean 'math'?" in result.output
    assert "Traceback" not in result.output


def test_serve_needs_a_config_file() -> None:
    result = runner.invoke(app, ["serve", "max_sessions=5"])
    assert result.exit_code == 2
    assert "no config file given" in result.output


def test_serve_unknown_name_suggests_the_close_one(tmp_path: Path) -> None:
    config = _weather_config(tmp_path)
    result = runner.invoke(app, ["serve", str(config), "--name", "wether"])
    assert result.exit_code == 2
    assert "Did you mean 'weather'?" in result.output


def test_serve_missing_entrypoint_file(tmp_path: Path) -> None:
    config = _server_config(tmp_path, "my_env", entrypoint="missing.py", domain="games")
    result = runner.invoke(app, ["serve", str(config)])
    assert result.exit_code == 2
    assert "entrypoint of server 'my_env' not found" in result.output
    assert str(tmp_path / "missing.py") in result.output


def test_serve_misspelt_entrypoint_suggests_the_key(tmp_path: Path) -> None:
    config = _server_config(tmp_path, "counter", entrypont="counter.py", domain="games")
    result = runner.invoke(app, ["serve", str(config)])
    assert result.exit_code == 2
    assert "counter.resources_servers.counter.entrypont" in result.output
    assert "Did you mean 'entrypoint'?" in result.output and "was not found" not in result.output


def test_serve_config_without_servers(tmp_path: Path) -> None:
    config = _config(tmp_path, "policy_base_url: http://localhost:8000/v1\n")
    result = runner.invoke(app, ["serve", str(config)])
    assert result.exit_code == 2
    assert "no server instances" in result.output


def test_serve_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = _weather_config(tmp_path, port=port)
        result = runner.invoke(app, ["serve", str(config)])
    assert result.exit_code == 2
    assert f"cannot bind 127.0.0.1:{port}" in result.output
    assert "weather.resources_servers.weather.port" in result.output


def test_serve_override_error_is_reported(tmp_path: Path) -> None:
    config = _weather_config(tmp_path)
    result = runner.invoke(app, ["serve", str(config), "weather.resources_servers.weather.port=99999"])
    assert result.exit_code == 2
    assert "port" in result.output
    assert "Traceback" not in result.output


def test_run_server_rejects_a_non_server() -> None:
    result = runner.invoke(app, ["run-server", "pathlib:Path"])
    assert result.exit_code == 2
    assert "not a server class" in result.output


def test_run_server_rejects_a_malformed_entry() -> None:
    result = runner.invoke(app, ["run-server", "pathlib"])
    assert result.exit_code == 2
    assert "MODULE:ATTR" in result.output


def test_run_server_reports_a_missing_module(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run-server", "no_such_module_xyz:Env"])
    assert result.exit_code == 2
    assert "cannot import module 'no_such_module_xyz'" in result.output
    assert "PYTHONPATH" in result.output


def test_run_server_reports_a_missing_attribute() -> None:
    result = runner.invoke(app, ["run-server", "gymhall:NoSuchServer"])
    assert result.exit_code == 2
    assert "has no attribute 'NoSuchServer'" in result.output
