"""`gymhall serve-model` and `gymhall serve-agent`, driven by `gymhall collect --agent-url`, as separate processes."""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from gymhall.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "examples" / "counter" / "configs" / "counter.yaml")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(*args: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "gymhall", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 60
    assert child.stdout is not None
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if "gymhall: serving" in line:
            return child
        if not line and child.poll() is not None:
            break
    child.kill()
    raise AssertionError(f"{args[0]} did not start")


def stop(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(5)


@pytest.mark.slow
def test_collect_through_an_agent_server_and_a_model_server(tmp_path: Path) -> None:
    model_port, agent_port = free_port(), free_port()
    model = start("serve-model", "--model", "fake:counter", "--port", str(model_port))
    try:
        policy = f"http://127.0.0.1:{model_port}/v1#fake-model"
        agent = start("serve-agent", "--config", CONFIG, "--model", policy, "--port", str(agent_port))
        try:
            rows = [{"responses_create_params": {"input": "count"}, "initial_count": i} for i in range(6)]
            data = tmp_path / "d.jsonl"
            data.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
            out = tmp_path / "o.jsonl"
            args = ["collect", "-i", str(data), "-o", str(out), "--agent-url", f"http://127.0.0.1:{agent_port}"]
            result = CliRunner().invoke(app, args)
        finally:
            stop(agent)
    finally:
        stop(model)
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(lines) == 6 and all(line["status"] == "ok" and line["reward"] == 1.0 for line in lines)


def test_bad_model_specs_are_refused() -> None:
    result = CliRunner().invoke(app, ["serve-model", "--model", "nope"])
    assert result.exit_code == 2 and "replay" in result.output
    result = CliRunner().invoke(app, ["serve-agent", "--model", "replay"])
    assert result.exit_code == 2 and "--config" in result.output


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["serve-model", "--model", "fake:counter"], id="serve-model"),
        pytest.param(["serve-agent", "--model", "replay", "--config", CONFIG], id="serve-agent"),
    ],
)
def test_a_busy_port_fails_as_gymhall_serve_does_before_announcing(tmp_path: Path, command: list[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, [*command, "--port", str(port)])
        config = tmp_path / "c.yaml"
        config.write_text(
            f"counter:\n  resources_servers:\n    counter:\n      entrypoint: {ROOT / 'examples/counter/counter.py'}\n"
            f"      domain: games\n      port: {port}\n"
        )
        served = CliRunner().invoke(app, ["serve", str(config)])
    assert result.exit_code == served.exit_code == 2, result.output
    for output in (result.output, served.output):
        assert f"cannot bind 127.0.0.1:{port} (Address already in use)" in output
        assert f"Fix: stop whatever uses port {port}, set another port (" in output
    assert "serving" not in result.output and "Traceback" not in result.output


def test_replay_cannot_be_served_and_the_offline_specs_are_named() -> None:
    result = CliRunner().invoke(app, ["serve-model", "--model", "replay", "--port", "0"])
    assert result.exit_code == 2 and "serving" not in result.output
    assert "'replay' cannot be served: it plays each row's reference solution" in result.output
    assert "fake:counter, fake:echo" in result.output
    help_text = CliRunner().invoke(app, ["serve-model", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"}).output
    assert "fake:counter | fake:echo" in help_text and "| replay" not in help_text


def test_serve_model_checks_the_key_and_the_url_before_announcing() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    result = CliRunner().invoke(app, ["serve-model", "--model", f"{url}#m", "--port", "0"])
    assert result.exit_code == 2 and "serving" not in result.output
    assert f"cannot reach {url}" in result.output and "is the server running?" in result.output
    args = ["serve-model", "--model", "openai:gpt-4.1-mini", "--port", "0"]
    result = CliRunner().invoke(app, args, env={"OPENAI_API_KEY": None})
    assert result.exit_code == 2 and "serving" not in result.output
    assert "no API key for https://api.openai.com/v1" in result.output and "Fix: set OPENAI_API_KEY" in result.output
