"""`gymhall export`: a collect run's rollouts as an ATIF folder, and `gymhall reverify` reading it back."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from gymhall.cli.main import app
from gymhall.collection.atif import Trajectory


def test_collect_export_and_reverify_the_folder(tmp_path: Path) -> None:
    run = tmp_path / "run.jsonl"
    result = CliRunner().invoke(
        app, ["collect", "--env", "workplace", "--model", "replay", "--limit", "3", "--output", str(run)]
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "atif"
    result = CliRunner().invoke(
        app, ["export", str(run), "--format", "atif", "--output-dir", str(folder), "--session-id", "s"]
    )
    assert result.exit_code == 0, result.output
    assert f"wrote 3 atif trajectories and manifest.jsonl to {folder}" in result.output
    for path in sorted(folder.glob("*.json")):
        assert Trajectory.model_validate_json(path.read_bytes()).trajectory_id.startswith("s:")
    result = CliRunner().invoke(app, ["reverify", str(folder), "--env", "workplace", "--replay"])
    assert result.exit_code == 0, result.output
    assert "reverified 3 rollouts (0 failed); 0 rewards changed" in result.output
    redone = [orjson.loads(line) for line in (tmp_path / "atif_reverified.jsonl").read_bytes().splitlines()]
    assert sorted(line["_ng_task_index"] for line in redone) == [0, 1, 2]
    assert all(line["reverified_by"] == "replay" and "replay_drift" not in line for line in redone)


def test_export_refuses_an_existing_folder_and_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "atif").mkdir()
    run = tmp_path / "run.jsonl"
    run.write_text("")
    result = CliRunner().invoke(app, ["export", str(run), "--output-dir", str(tmp_path / "atif")])
    assert result.exit_code == 2 and "atif already exists. Fix: name a new folder" in result.output
    result = CliRunner().invoke(app, ["export", str(tmp_path / "nope.jsonl"), "--output-dir", str(tmp_path / "new")])
    assert result.exit_code == 2 and "nope.jsonl does not exist" in result.output
    assert not (tmp_path / "new").exists()
    result = CliRunner().invoke(app, ["export", str(run), "--format", "csv", "--output-dir", str(tmp_path / "new")])
    assert result.exit_code == 2 and "csv" in result.output
