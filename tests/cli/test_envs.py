"""`gymhall envs` and `gymhall check`: the probes an environment names in its config, or on the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
from typer.testing import CliRunner

from gymhall.cli.main import app

QUIZ_ENV = Path(__file__).resolve().parents[1] / "fixtures" / "envs" / "quiz.py"
PROBES = """
from gymhall import Probe


def probes(row):
    return [Probe("the answer twice", answer=row["expected_answer"] * 2)]
"""


def quiz_project(tmp_path: Path, probes: str | None) -> tuple[Path, Path]:
    """A config of the quiz environment (exact-match verify), optionally naming probes, and two rows."""
    shutil.copy(QUIZ_ENV, tmp_path / "quiz.py")
    (tmp_path / "my_probes.py").write_text(PROBES)
    extra = f"      probes: {probes}\n" if probes else ""
    config = tmp_path / "quiz.yaml"
    server = "      entrypoint: quiz.py\n      domain: knowledge\n"
    config.write_text(f"quiz:\n  resources_servers:\n    quiz:\n{server}{extra}")
    rows = tmp_path / "rows.jsonl"
    lines = [
        {"responses_create_params": {"input": "Say 7."}, "expected_answer": "7", "reference_solution": {"answer": "7"}}
    ] * 2
    rows.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    return config, rows


def test_check_plays_the_probes_the_config_names_from_a_file_beside_it(tmp_path: Path) -> None:
    config, rows = quiz_project(tmp_path, "my_probes.py:probes")
    result = CliRunner().invoke(app, ["check", "--config", str(config), "--input", str(rows)])
    # The quiz compares the stripped text exactly: bold, a fence and a trailing sentence lose their score.
    assert result.exit_code == 1, result.output
    assert "hack 'the answer twice': paid on 0 of 2 rows" in result.output
    assert "variant 'reference in bold': lost its score on 2 of 2 rows (rows 0, 1)" in result.output
    assert "variant 'reference with extra whitespace': lost its score on 0 of 2 rows" in result.output
    assert "FAIL  reward probes: 3 of 8 probes broke their rule" in result.output


def test_probes_on_the_command_line_win_over_the_config(tmp_path: Path) -> None:
    config, rows = quiz_project(tmp_path, "my_probes.py:probes")
    command = ["check", "-c", str(config), "-i", str(rows), "--probes", "gymhall.checks.probes:generic_probes"]
    result = CliRunner().invoke(app, command)
    assert "the answer twice" not in result.output
    # generic_probes as the environment's own: every generic probe replaced by itself, none added.
    assert result.output.count("hack 'refusal'") == 1


def test_a_probes_setting_that_names_nothing_stops_before_any_check(tmp_path: Path) -> None:
    config, rows = quiz_project(tmp_path, "my_probes.py:no_such_function")
    result = CliRunner().invoke(app, ["check", "--config", str(config), "--input", str(rows)])
    assert result.exit_code == 2
    assert "probes:" in result.output and "has no function 'no_such_function'" in result.output
    assert "Fix:" in result.output and "pass " not in result.output
