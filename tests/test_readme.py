"""The README's main-job command works as written (the install half is what CI itself runs)."""

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gymhall.cli.main import app

README = Path(__file__).resolve().parents[1] / "README.md"


def main_job() -> list[str]:
    block = re.search(r"## Install and run\s+(?:<!--.*?-->\s+)?```bash\n(.+?)\n```", README.read_text(), re.S)
    assert block is not None, "README has no Install and run command"
    install, _, command = block.group(1).partition(" && ")
    assert install == "pip install -e '.[dev,train]'"
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install --quiet -e '.[dev,train]'" in ci  # the README installs what CI installs
    words = shlex.split(command)
    assert words[0] == "gymhall"
    return words[1:]


def test_the_readme_main_job_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, main_job())
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (tmp_path / "runs" / "workplace.jsonl").read_text().splitlines()]
    assert len(lines) == 1056  # 528 rows, 2 repeats: the number the README states
    assert all(line["status"] == "ok" and line["reward"] == 1.0 for line in lines)
    metrics = json.loads((tmp_path / "runs" / "workplace_metrics.json").read_text())
    assert metrics["overall"]["mean/reward"] == 1.0
