"""The summary agrees with `gymhall metrics`, and adds failures, timings, tokens and histograms."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from gymhall.cli.main import app
from gymhall.view.index import RolloutIndex
from gymhall.view.summary import histogram, percentile, run_summary


def metrics_of(path: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["metrics", str(path), *extra])
    assert result.exit_code == 0, result.output
    return orjson.loads(path.with_name(path.stem + "_metrics.json").read_bytes())


def summary_of(path: Path, answer_key: str | None = None) -> dict[str, Any]:
    index = RolloutIndex(path, answer_key=answer_key)
    index.refresh()
    return run_summary(index)


@pytest.mark.parametrize("name", ["mixed", "after", "nemo"])
def test_the_numbers_are_those_of_gymhall_metrics(runs: Any, name: str) -> None:
    path = getattr(runs, name)
    summary, metrics = summary_of(path), metrics_of(path)
    assert summary["counts"] == metrics["counts"]
    assert summary["key_metrics"] == pytest.approx(metrics["key_metrics"])
    assert summary["pass@k"] == pytest.approx(metrics["pass@k"])


def test_majority_at_k_votes_on_the_answer_key(runs: Any) -> None:
    summary = summary_of(runs.answers, "extracted_answer")
    metrics = metrics_of(runs.answers, "--answer-key", "extracted_answer")
    assert summary["majority@k"] == pytest.approx(metrics["majority@k"])
    assert summary["key_metrics"]["majority@3"] == pytest.approx(metrics["key_metrics"]["majority@3"])
    assert summary["majority@k"]["majority@1"] == 0.5  # even tasks' first answer is wrong


def test_failures_are_grouped_by_stage_with_their_messages(runs: Any) -> None:
    failures = summary_of(runs.mixed)["failures"]
    assert [f["stage"] for f in failures] == ["seed"] and failures[0]["count"] == 9
    (message,) = failures[0]["messages"]
    assert message["count"] == 9 and "Cannot reach the resources server" in message["message"]


def test_timings_are_percentiles_of_the_lines_timings(runs: Any) -> None:
    lines = [orjson.loads(raw) for raw in runs.after.read_bytes().splitlines()]
    model = sorted(line["timings"]["model_s"] for line in lines)
    rows = {row["stage"]: row for row in summary_of(runs.after)["timings"]}
    assert list(rows)[:4] == ["seed", "model", "tools", "verify"]
    assert rows["model"]["n"] == 36 and rows["model"]["p50"] == model[17] and rows["model"]["p99"] == model[-1]


def test_nemo_gym_runs_have_tokens_and_no_timings(runs: Any) -> None:
    summary = summary_of(runs.nemo)
    assert summary["timings"] == []
    tokens = {row["name"]: row for row in summary["tokens"]}
    assert tokens["input_tokens"]["total"] == sum(100 + i for i in range(6))
    assert tokens["output_tokens"]["mean"] == statistics.fmean(20 + i for i in range(6))


def test_reward_and_field_histograms(runs: Any) -> None:
    summary = summary_of(runs.mixed)
    assert summary["reward_histogram"] == {"count": 27, "bins": [{"label": "1", "lo": 1.0, "hi": 1.0, "count": 27}]}
    assert set(summary["component_histograms"]) == {"answer_correct", "looked_up_city"}


def test_components_get_their_own_histograms(tmp_path: Path) -> None:
    lines = [
        {"_ng_task_index": i, "_ng_rollout_index": 0, "reward": i / 4, "reward_components": {"a": i % 2}}
        for i in range(5)
    ]
    path = tmp_path / "components.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    summary = summary_of(path)
    assert summary["component_title"] == "reward components"
    assert [b["count"] for b in summary["component_histograms"]["a"]["bins"]] == [3, 2]


def test_histogram_bins_many_values_evenly() -> None:
    result = histogram([i / 99 for i in range(100)])
    assert len(result["bins"]) == 20 and sum(b["count"] for b in result["bins"]) == 100
    assert result["bins"][0]["count"] == 5 and result["bins"][-1]["count"] == 5


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 11))
    assert percentile(values, 0.5) == 5 and percentile(values, 0.99) == 10
    with pytest.raises(ValueError):
        percentile([], 0.5)
