"""`gymhall view`: its options and errors, and the real command serving a run until Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
from typer.testing import CliRunner

from gymhall.cli.main import app

LINES = [
    {
        "_ng_task_index": t,
        "_ng_rollout_index": r,
        "reward": float((t + r) % 2),
        "status": "ok",
        "timings": {"total_s": 0.1},
    }
    for t in range(3)
    for r in range(2)
]


def write_run(path: Path) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in LINES))
    return path


def test_help_names_the_options() -> None:
    result = CliRunner().invoke(app, ["view", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    for option in ("--port", "--no-open", "--follow", "--answer-key"):
        assert option in result.output


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["view", str(tmp_path / "none.jsonl"), "--no-open"])
    assert result.exit_code == 2 and "none.jsonl does not exist" in result.output


def test_a_port_in_use_is_a_usage_error_that_says_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["view", str(write_run(tmp_path / "run.jsonl")), "--port", str(port), "--no-open"]
        )
    assert result.exit_code == 2
    assert f"Cannot listen on 127.0.0.1:{port}" in result.output and "--port 0" in result.output


def test_serves_on_loopback_until_ctrl_c(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run.jsonl")
    command = [sys.executable, "-m", "gymhall", "view", str(run), "--port", "0", "--no-open", "--follow"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert child.stdout is not None
        banner = child.stdout.readline()
        url = next(word for word in banner.split() if word.startswith("http://127.0.0.1:"))
        deadline = time.monotonic() + 20
        while True:
            answer = httpx.get(url + "api/summary", timeout=5)
            if answer.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert answer.status_code == 200 and answer.json()["counts"]["lines"] == 6
        with run.open("ab") as handle:  # --follow: a line appended while the page is open
            handle.write(orjson.dumps({**LINES[0], "_ng_task_index": 9}) + b"\n")
        while httpx.get(url + "api/summary", timeout=5).json()["counts"]["lines"] != 7:
            assert time.monotonic() < deadline + 20, "the appended line never showed"
            time.sleep(0.1)
        child.send_signal(signal.SIGINT)
        output, _ = child.communicate(timeout=20)
    finally:
        child.kill()
    assert child.returncode == 130, output  # stopped by Ctrl-C, as `gymhall collect` reports it
    assert "Traceback" not in output
