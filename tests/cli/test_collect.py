"""`gymhall collect` and `gymhall reverify` as a script sees them: exit codes, failure messages, Ctrl-C, summaries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
from typer.testing import CliRunner

from gymhall.cli.collect import INTERRUPTED, ROWS_FAILED, resume_command
from gymhall.cli.errors import USAGE_ERROR
from gymhall.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "counter" / "data" / "example.jsonl"
CONFIG = str(ROOT / "examples" / "counter" / "configs" / "counter.yaml")


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def counter_rows(*, solved: bool = True) -> list[dict]:
    """The counter example's rows; without their reference solutions the replay model fails every one."""
    rows = [orjson.loads(line) for line in DATA.read_bytes().splitlines()]
    if not solved:
        for row in rows:
            del row["reference_solution"]
    return rows


def test_help_documents_the_exit_codes_and_the_timeout() -> None:
    result = CliRunner().invoke(app, ["collect", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Exit status: 0 when every row is ok; 1 when any row of the output failed" in text
    assert "--allow-failures" in text and "130 when stopped by Ctrl-C" in text
    assert "A row's whole budget in seconds, across all its attempts" in text


def test_collect_exits_1_when_every_row_failed_and_shows_why(tmp_path: Path) -> None:
    data = write_rows(tmp_path / "d.jsonl", counter_rows(solved=False))
    args = ["collect", "-i", str(data), "-o", str(tmp_path / "o.jsonl"), "-c", CONFIG]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == ROWS_FAILED == 1, result.output
    assert "most common failures:" in result.output
    # One message, grouped over the 12 rows, with its count, under the summary table.
    assert "12 x model: The replay model needs a 'reference_solution'" in result.output
    assert result.output.index("collection summary") < result.output.index("most common failures:")


def test_allow_failures_exits_0_and_still_shows_the_failures(tmp_path: Path) -> None:
    data = write_rows(tmp_path / "d.jsonl", counter_rows(solved=False)[:2])
    args = ["collect", "-i", str(data), "-o", str(tmp_path / "o.jsonl"), "-c", CONFIG, "--allow-failures"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "2 x model: The replay model needs" in result.output


def test_a_resume_of_an_output_with_failed_rows_still_exits_1(tmp_path: Path) -> None:
    rows = counter_rows()
    del rows[0]["reference_solution"]
    data = write_rows(tmp_path / "d.jsonl", rows)
    args = ["collect", "-i", str(data), "-o", str(tmp_path / "o.jsonl"), "-c", CONFIG, "--limit", "3"]
    assert CliRunner().invoke(app, args).exit_code == ROWS_FAILED
    resumed = CliRunner().invoke(app, [*args[:-2], "--resume"], env={"COLUMNS": "200"})
    assert resumed.exit_code == ROWS_FAILED and "1 x model: The replay model needs" in resumed.output


def test_the_summary_puts_the_coverage_beside_the_mean_reward(tmp_path: Path) -> None:
    rows = counter_rows()[:4]
    del rows[0]["reference_solution"]  # this row fails; the mean covers the other three
    data = write_rows(tmp_path / "d.jsonl", rows)
    args = ["collect", "-i", str(data), "-o", str(tmp_path / "o.jsonl"), "-c", CONFIG, "--allow-failures"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    cells = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert "mean reward 1.0000 over 3 of 4 rollouts (coverage 75.0%)" in cells, result.output
    assert "failed 1 (model 1)" in cells


def test_difficulty_runs_only_those_tiers_and_a_resume_with_others_adds_their_rows(tmp_path: Path) -> None:
    rows = [{**row, "difficulty": "hard" if i % 3 == 0 else "easy"} for i, row in enumerate(counter_rows()[:6])]
    data, out = write_rows(tmp_path / "d.jsonl", rows), tmp_path / "o.jsonl"
    args = ["collect", "-i", str(data), "-o", str(out), "-c", CONFIG]
    assert CliRunner().invoke(app, [*args, "--difficulty", "hard"]).exit_code == 0
    tasks = [orjson.loads(line)["_ng_task_index"] for line in out.read_bytes().splitlines()]
    assert sorted(tasks) == [0, 3]  # the hard rows, under their places in the file
    resumed = CliRunner().invoke(app, [*args, "--difficulty", "easy, hard", "--limit", "5", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    tasks = [orjson.loads(line)["_ng_task_index"] for line in out.read_bytes().splitlines()]
    assert sorted(tasks) == [0, 1, 2, 3, 4]  # five rows kept by the filter, the two done before not run again


def test_a_difficulty_no_row_has_is_a_usage_error_naming_the_tiers(tmp_path: Path) -> None:
    data = write_rows(tmp_path / "d.jsonl", [{**row, "difficulty": "easy"} for row in counter_rows()[:2]])
    args = ["collect", "-i", str(data), "-o", str(tmp_path / "o.jsonl"), "-c", CONFIG, "--difficulty", "hard"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == USAGE_ERROR and "the rows have easy" in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_a_usage_error_still_exits_2(tmp_path: Path) -> None:
    args = ["collect", "-i", str(DATA), "-o", str(tmp_path / "o.jsonl"), "-c", CONFIG, "--resume", "--overwrite"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == USAGE_ERROR and "--resume and --overwrite contradict each other" in result.output


def test_the_summary_after_resume_shows_done_before_and_done_now(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    args = ["collect", "-i", str(DATA), "-o", str(out), "-c", CONFIG]
    assert CliRunner().invoke(app, [*args, "--limit", "5"]).exit_code == 0
    result = CliRunner().invoke(app, [*args, "--limit", "8", "--resume"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    cells = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert "done before 5 (5 ok, 0 failed)" in cells
    assert "done now 3 (3 ok, 0 failed)" in cells
    assert "ok 8" in cells  # the whole output, not only the rows run now


def test_reverify_exits_1_when_a_rollout_failed_unless_allowed(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    assert (
        CliRunner().invoke(app, ["collect", "-i", str(DATA), "-o", str(out), "-c", CONFIG, "--limit", "2"]).exit_code
        == 0
    )
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    lines[0]["status"], lines[0]["failure"] = "failed", {"stage": "model", "error": "HTTP 401", "retryable": False}
    del lines[0]["reward"]
    write_rows(out, lines)
    result = CliRunner().invoke(app, ["reverify", str(out), "-c", CONFIG])
    assert result.exit_code == ROWS_FAILED and "1 failed" in result.output
    assert "1 x model: HTTP 401" in result.output
    allowed = CliRunner().invoke(app, ["reverify", str(out), "-c", CONFIG, "--allow-failures"])
    assert allowed.exit_code == 0, allowed.output


def test_the_resume_command_keeps_the_arguments_and_drops_overwrite() -> None:
    argv = ["collect", "-i", "my data.jsonl", "-o", "out.jsonl", "--overwrite", "--model", "replay"]
    assert resume_command(argv) == "gymhall collect -i 'my data.jsonl' -o out.jsonl --model replay --resume"
    assert resume_command(["collect", "--env", "weather", "--resume"]) == "gymhall collect --env weather --resume"


SLOW_ENV = """
import asyncio
from gymhall import BaseSeedSessionRequest, BaseVerifyRequest, Environment, tool

class Row(BaseSeedSessionRequest):
    start: int = 0

class Slow(Environment):
    async def seed_session(self, row: Row) -> dict:
        return {"value": row.start}

    @tool
    async def add(self, state: dict, by: int) -> int:
        await asyncio.sleep(0.05)
        state["value"] += by
        return state["value"]

    async def verify(self, state: dict, body: BaseVerifyRequest) -> float:
        return float(body.response.output_text == str(state["value"]))
"""


def test_ctrl_c_writes_the_metrics_of_what_is_done_and_prints_the_resume_command(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(SLOW_ENV)
    (tmp_path / "slow.yaml").write_text(
        "slow:\n  resources_servers:\n    slow:\n      entrypoint: slow.py\n      domain: other\n"
    )
    solution = {"tool_calls": [{"name": "add", "arguments": {"by": 1}}] * 3}
    rows = [
        {
            "responses_create_params": {"input": "add"},
            "start": i,
            "reference_solution": {**solution, "answer": str(i + 3)},
        }
        for i in range(200)
    ]
    write_rows(tmp_path / "data.jsonl", rows)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "gymhall", "collect", "-i", "data.jsonl", "-o", "out.jsonl"]
    command += ["--config", "slow.yaml", "--concurrency", "2"]
    environment = {**os.environ, "COLUMNS": "200"}
    child = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or len(out.read_bytes().splitlines()) < 5):
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        child.kill()
    text = stderr.decode()
    assert child.returncode == INTERRUPTED, text[-3000:]
    done = len(out.read_bytes().splitlines())
    assert 5 <= done < 200, "the run should have been stopped part-way"
    assert f"interrupted: {done} of 200 rollouts done ({done} ok, 0 failed)" in text
    assert "gymhall collect -i data.jsonl -o out.jsonl --config slow.yaml --concurrency 2 --resume" in text
    assert "Traceback" not in text
    metrics = orjson.loads((tmp_path / "out_metrics.json").read_bytes())
    assert metrics["counts"]["lines"] == done and metrics["key_metrics"]["mean/reward"] == 1.0


def test_collect_stops_before_any_rollout_when_the_model_is_unreachable(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    out = tmp_path / "o.jsonl"
    args = ["collect", "-i", str(DATA), "-o", str(out), "-c", CONFIG, "--model", f"{url}#m"]
    start = time.monotonic()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == USAGE_ERROR, result.output
    assert f"cannot reach {url}" in result.output and "is the server running?" in result.output
    assert not out.exists() and time.monotonic() - start < 10  # one check, not each row's nested retries


def test_collect_names_the_missing_or_refused_key(tmp_path: Path) -> None:
    from gymhall.testing import FakeOpenAI, serve_in_thread

    previous = os.getcwd()
    os.chdir(tmp_path)  # no env.yaml here
    try:
        out = tmp_path / "o.jsonl"
        args = ["collect", "-i", str(DATA), "-o", str(out), "-c", CONFIG, "--model", "openai:gpt-4.1-mini"]
        result = CliRunner().invoke(app, args, env={"OPENAI_API_KEY": None})
        assert result.exit_code == USAGE_ERROR, result.output
        assert "no API key for https://api.openai.com/v1" in result.output
        assert "Fix: set OPENAI_API_KEY, or policy_api_key in ./env.yaml" in result.output
        with serve_in_thread(FakeOpenAI(api_key="sk-right")) as url:
            args[-1] = f"{url}/v1#fake-model"
            result = CliRunner().invoke(app, args, env={"OPENAI_API_KEY": "sk-wrong"})
        assert result.exit_code == USAGE_ERROR, result.output
        assert "refused the API key (HTTP 401" in result.output and not out.exists()
    finally:
        os.chdir(previous)


def _counter_app() -> object:
    from gymhall.config.loading import load_config
    from gymhall.server.entrypoints import build_server_app

    return build_server_app(load_config([CONFIG]).resources_server(None))


def test_resume_after_the_resources_server_died_completes_the_failed_rows(tmp_path: Path) -> None:
    from gymhall.testing import serve_in_thread

    out = tmp_path / "o.jsonl"
    base = ["collect", "-i", str(DATA), "-o", str(out), "--max-attempts", "1", "--limit", "8"]
    with serve_in_thread(_counter_app()) as url:  # type: ignore[arg-type]
        assert CliRunner().invoke(app, [*base[:-2], "--limit", "3", "--resources-url", url]).exit_code == 0
    # The server is gone: the rest of the rows fail, retryably, at seed.
    died = CliRunner().invoke(app, [*base, "--resume", "--resources-url", url])
    assert died.exit_code == ROWS_FAILED, died.output
    failed = [orjson.loads(line) for line in out.read_bytes().splitlines()][3:]
    assert len(failed) == 5 and all(line["failure"]["retryable"] for line in failed)
    # --keep-failures leaves them; a plain --resume against the restarted server completes them.
    with serve_in_thread(_counter_app()) as url:  # type: ignore[arg-type]
        kept = CliRunner().invoke(app, [*base, "--resume", "--keep-failures", "--resources-url", url])
        assert kept.exit_code == ROWS_FAILED and len(out.read_bytes().splitlines()) == 8
        resumed = CliRunner().invoke(app, [*base, "--resume", "--resources-url", url])
    assert resumed.exit_code == 0, resumed.output
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(lines) == 13  # append-only: the 5 failed lines stay, their retries follow
    metrics = orjson.loads((tmp_path / "o_metrics.json").read_bytes())
    assert metrics["counts"]["lines"] == metrics["counts"]["ok"] == 8 and metrics["counts"]["failed"] == 0
