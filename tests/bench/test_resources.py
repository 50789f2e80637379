"""`gymhall bench resources`: the orchestration and the command, on tiny bounded runs over loopback."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gymhall.bench.resources import BASELINE, bench_resources
from gymhall.cli.main import app

pytestmark = pytest.mark.slow


def test_targets_are_measured_and_compared_with_the_floor() -> None:
    rows = bench_resources(targets=[BASELINE, "gymhall-short-style"], concurrencies=[4], tool_calls=2, duration_s=1.5)
    assert [(r.target, r.concurrency) for r in rows] == [(BASELINE, 4), ("gymhall-short-style", 4)]
    for row in rows:
        assert row.result.errors == 0 and row.result.wrong_rewards == 0
        assert row.result.episodes > 0 and row.rss_bytes is not None and row.rss_bytes > 10 * 2**20
    assert rows[0].ratio == 1.0
    assert rows[1].ratio == pytest.approx(rows[1].result.episodes_per_s / rows[0].result.episodes_per_s)


def test_unknown_target_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown bench target"):
        bench_resources(targets=["nope"], concurrencies=[1])


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
