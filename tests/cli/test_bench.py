"""`gymhall bench resources` and `gymhall bench rollouts`: tables printed, JSON written, bad input refused."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gymhall.bench.resources import BASELINE
from gymhall.bench.rollout_results import NEMO_GYM_ROLLOUTS_PER_S
from gymhall.cli.main import app

pytestmark = pytest.mark.slow

TIMEOUT_S = 120.0


def test_command_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["bench", "resources", "-c", "2", "-k", "1", "--duration", "1", "--episodes", "20", "--style", "seed"]
    result = CliRunner().invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "gymhall-seed-style" in result.output and "starlette-baseline" in result.output
    data = json.loads(out.read_text())
    assert {row["target"] for row in data["rows"]} == {BASELINE, "gymhall-seed-style"}


def test_command_refuses_non_loopback_urls() -> None:
    result = CliRunner().invoke(app, ["bench", "resources", "http://10.0.0.1:8000", "--duration", "1"])
    assert result.exit_code == 2
    assert "loopback" in result.output


def test_command_prints_both_tables_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "e.json"
    args = ["bench", "rollouts", "--mode", "both", "-n", "12", "-c", "4", "--timeout", str(TIMEOUT_S)]
    result = CliRunner().invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "in-process" in result.output and "http" in result.output and "vs NeMo" in result.output
    data = json.loads(out.read_text())
    assert [(r["mode"], r["n"], r["concurrency"]) for r in data["results"]] == [("inprocess", 12, 4), ("http", 12, 4)]
    assert all(r["ok"] == 12 and r["errors"] == 0 for r in data["results"])
    assert [r["model_path"] for r in data["results"]] == ["http", "http"]  # the path users run, by default
    assert "model: fake OpenAI server over HTTP" in result.output
    assert data["nemo_gym_rollouts_per_s"] == NEMO_GYM_ROLLOUTS_PER_S


def test_command_refuses_an_unknown_mode() -> None:
    result = CliRunner().invoke(app, ["bench", "rollouts", "--mode", "sideways"])
    assert result.exit_code == 2
    assert "unknown --mode" in result.output


def test_command_labels_the_inprocess_fake_model_and_refuses_an_unknown_model_path(tmp_path: Path) -> None:
    out = tmp_path / "e.json"
    args = ["bench", "rollouts", "--mode", "inprocess", "-n", "8", "-c", "4", "--model-path", "inprocess-fake"]
    result = CliRunner().invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "IN-PROCESS FAKE" in result.output
    assert [r["model_path"] for r in json.loads(out.read_text())["results"]] == ["inprocess-fake"]
    refused = CliRunner().invoke(app, ["bench", "rollouts", "--model-path", "nearby"])
    assert refused.exit_code == 2 and "unknown --model-path" in refused.output
