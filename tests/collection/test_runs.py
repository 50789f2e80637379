"""`gymhall collect`, `metrics` and `reverify` end to end through the CLI, in-process."""

import shutil
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from gymhall.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DATA = str(ROOT / "examples" / "counter" / "data" / "example.jsonl")
CONFIG = str(ROOT / "examples" / "counter" / "configs" / "counter.yaml")

QUIZ_ENV = Path(__file__).resolve().parents[1] / "fixtures" / "envs" / "quiz.py"


def lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_collect_with_replay_scores_every_reference_solution(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "counter.jsonl"
    result = CliRunner().invoke(app, ["collect", "-i", DATA, "-o", str(out), "-c", CONFIG, "--repeats", "2"])
    assert result.exit_code == 0, result.output
    rows = lines(out)
    assert len(rows) == 24 and all(r["status"] == "ok" and r["reward"] == 1.0 for r in rows)
    metrics = orjson.loads((tmp_path / "runs" / "counter_metrics.json").read_bytes())
    assert metrics["key_metrics"]["mean/reward"] == 1.0 and metrics["pass@k"]["pass@2"] == 1.0
    assert "collection summary" in result.output


def test_collect_limit_sampling_and_refusal_to_clobber(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    args = ["collect", "-i", DATA, "-o", str(out), "-c", CONFIG, "--limit", "3", "--temperature", "0.3"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert len(lines(out)) == 3
    assert all(r["responses_create_params"]["temperature"] == 0.3 for r in lines(out))
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "--resume" in again.output


def test_collect_names_a_missing_environment(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["collect", "-i", DATA, "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "--config" in result.output


@pytest.mark.parametrize("spec", ["nope", "ftp://x"])
def test_collect_names_a_bad_model_spec(tmp_path: Path, spec: str) -> None:
    result = CliRunner().invoke(app, ["collect", "-i", DATA, "-o", str(tmp_path / "o.jsonl"), "-c", CONFIG, "-m", spec])
    assert result.exit_code == 2 and "replay" in result.output


def test_reverify_recomputes_rewards_without_the_model(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert CliRunner().invoke(app, ["collect", "-i", DATA, "-o", str(out), "-c", CONFIG, "--limit", "4"]).exit_code == 0
    rows = lines(out)
    # Corrupt one stored answer: verify grades the stored response again.
    rows[0]["response"]["output"][-1]["content"][0]["text"] = "wrong"
    out.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    result = CliRunner().invoke(app, ["reverify", str(out), "-c", CONFIG])
    assert result.exit_code == 0, result.output
    assert "1 rewards changed" in result.output
    redone = {r["_ng_task_index"]: r for r in lines(tmp_path / "out_reverified.jsonl")}
    assert len(redone) == 4
    # The counter's verify reads session state: its recorded tool calls are replayed in a fresh session.
    assert all(r["status"] == "ok" and r["reverified_by"] == "replay" for r in redone.values())
    assert redone[0]["reward"] == 0.0 and all(redone[i]["reward"] == 1.0 for i in (1, 2, 3))


def test_metrics_command_recomputes_the_metrics_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    CliRunner().invoke(app, ["collect", "-i", DATA, "-o", str(out), "-c", CONFIG, "--limit", "2"])
    (tmp_path / "out_metrics.json").unlink()
    result = CliRunner().invoke(app, ["metrics", str(out)])
    assert result.exit_code == 0 and '"mean/reward": 1.0' in result.output
    assert (tmp_path / "out_metrics.json").exists()


def test_reverify_recomputes_a_stateless_verifier(tmp_path: Path) -> None:
    shutil.copy(QUIZ_ENV, tmp_path / "quiz.py")
    config = tmp_path / "quiz.yaml"
    config.write_text("quiz:\n  resources_servers:\n    quiz:\n      entrypoint: quiz.py\n      domain: knowledge\n")
    rows = [
        {
            "responses_create_params": {"input": f"{i}+{i}?"},
            "expected_answer": str(2 * i),
            "reference_solution": {"answer": str(2 * i)},
        }
        for i in range(5)
    ]
    data = tmp_path / "quiz.jsonl"
    data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    out = tmp_path / "quiz_out.jsonl"
    assert CliRunner().invoke(app, ["collect", "-i", str(data), "-o", str(out), "-c", str(config)]).exit_code == 0
    stored = lines(out)
    assert all(r["reward"] == 1.0 for r in stored)
    stored[2]["response"]["output"][-1]["content"][0]["text"] = "wrong"
    out.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in stored))
    result = CliRunner().invoke(app, ["reverify", str(out), "-c", str(config)])
    assert result.exit_code == 0 and "1 rewards changed" in result.output
    redone = {r["_ng_task_index"]: r for r in lines(tmp_path / "quiz_out_reverified.jsonl")}
    assert redone[2]["reward"] == 0.0 and redone[2]["previous_reward"] == 1.0
    assert all(redone[i]["reward"] == 1.0 for i in (0, 1, 3, 4))


def test_policy_model_comes_from_env_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gymhall.testing import FakeOpenAI, counter_policy, serve_in_thread

    fake = FakeOpenAI(counter_policy())
    monkeypatch.chdir(tmp_path)
    with serve_in_thread(fake) as url:
        (tmp_path / "env.yaml").write_text(
            f"policy_base_url: {url}/v1\npolicy_model_name: fake-model\npolicy_api_key: sk-test-secret\n"
        )
        rows = [{"responses_create_params": {"input": "count"}, "initial_count": 1}]
        data = tmp_path / "d.jsonl"
        data.write_bytes(orjson.dumps(rows[0]) + b"\n")
        args = ["collect", "-i", str(data), "-o", str(tmp_path / "o.jsonl"), "-c", CONFIG, "-m", "policy"]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert lines(tmp_path / "o.jsonl")[0]["reward"] == 1.0
    assert fake.requests[0].headers.get("authorization") == "Bearer sk-test-secret"
    assert "sk-test-secret" not in result.output


def test_policy_model_needs_an_env_yaml_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "d.jsonl"
    data.write_bytes(orjson.dumps({"responses_create_params": {"input": "count"}, "initial_count": 1}) + b"\n")
    args = ["collect", "-i", str(data), "-o", str(tmp_path / "o.jsonl"), "-c", CONFIG, "-m", "policy"]
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code != 0 and "--model policy needs ./env.yaml" in missing.output
    (tmp_path / "env.yaml").write_text("- policy_base_url\n")
    not_a_mapping = CliRunner().invoke(app, args)
    assert not_a_mapping.exit_code != 0
    assert "top level must be a mapping" in not_a_mapping.output and "env.yaml" in not_a_mapping.output


JUDGED_ENV = """
from gymhall import BaseVerifyRequest, Environment, JudgeError

class Answer(BaseVerifyRequest):
    expected_answer: str

class Judged(Environment):
    async def verify(self, state: None, body: Answer) -> float:
        if body.response.output_text.strip() == "ask the judge":
            raise JudgeError("the judge timed out")
        return float(body.response.output_text.strip() == body.expected_answer)
"""


def test_reverify_records_a_judge_failure_as_a_failed_line(tmp_path: Path) -> None:
    (tmp_path / "judged.py").write_text(JUDGED_ENV)
    config = tmp_path / "judged.yaml"
    config.write_text(
        "judged:\n  resources_servers:\n    judged:\n      entrypoint: judged.py\n      domain: knowledge\n"
    )
    rows = [
        {"responses_create_params": {"input": "1+1?"}, "expected_answer": "2", "reference_solution": {"answer": "2"}}
    ]
    data = tmp_path / "judged.jsonl"
    data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    out = tmp_path / "judged_out.jsonl"
    assert CliRunner().invoke(app, ["collect", "-i", str(data), "-o", str(out), "-c", str(config)]).exit_code == 0
    stored = lines(out)
    stored[0]["response"]["output"][-1]["content"][0]["text"] = "ask the judge"
    out.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in stored))
    reverified = CliRunner().invoke(app, ["reverify", str(out), "-c", str(config)])
    # A failed rollout is a failed run (exit 1), and its message is shown with its count.
    assert reverified.exit_code == 1 and "1 x judge: the judge timed out" in reverified.output
    (redone,) = lines(tmp_path / "judged_out_reverified.jsonl")
    assert redone["status"] == "failed" and "reward" not in redone
    assert redone["failure"]["stage"] == "judge" and redone["failure"]["error"] == "the judge timed out"


def test_resume_with_another_input_is_refused_naming_both_files(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert CliRunner().invoke(app, ["collect", "-i", DATA, "-o", str(out), "-c", CONFIG, "--limit", "3"]).exit_code == 0
    rows = [orjson.loads(line) for line in Path(DATA).read_bytes().splitlines()]
    rows[1]["initial_count"] = 99  # another dataset: its task 1 is not the task out.jsonl holds
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    before = out.read_bytes()
    refused = CliRunner().invoke(app, ["collect", "-i", str(other), "-o", str(out), "-c", CONFIG, "--resume"])
    assert refused.exit_code == 2
    message = " ".join(refused.output.split())
    assert str(other) in message and DATA in message and str(out) in message and "task 1" in message
    assert out.read_bytes() == before
    # The same input with a larger --limit resumes: the new rows are added, the old ones kept.
    resumed = CliRunner().invoke(app, ["collect", "-i", DATA, "-o", str(out), "-c", CONFIG, "--limit", "5", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert len(lines(out)) == 5


def test_metrics_leave_the_rows_numeric_fields_out(tmp_path: Path) -> None:
    # The counter's rows hold initial_count and expected_count: inputs, not scores.
    out = tmp_path / "out.jsonl"
    assert CliRunner().invoke(app, ["collect", "-i", DATA, "-o", str(out), "-c", CONFIG, "--limit", "3"]).exit_code == 0
    written = orjson.loads((tmp_path / "out_metrics.json").read_bytes())
    assert written["overall"]["mean/reward"] == 1.0
    assert not any("initial_count" in key or "expected_count" in key for key in written["overall"])
    assert not any("initial_count" in key for task in written["per_task"] for key in task)
    recomputed = CliRunner().invoke(app, ["metrics", str(out)])
    assert recomputed.exit_code == 0 and "initial_count" not in recomputed.output
    assert orjson.loads((tmp_path / "out_metrics.json").read_bytes())["overall"] == written["overall"]


def test_timeout_is_a_rows_budget_across_attempts(tmp_path: Path) -> None:
    # Seeding never answers: each attempt ends at the deadline with a retryable failure. With a row
    # budget of --timeout, the first attempt spends it all and no retry starts (before: 3 attempts).
    (tmp_path / "stall.py").write_text(
        "import asyncio\nfrom gymhall import BaseSeedSessionRequest, BaseVerifyRequest, Environment\n\n"
        "class Stall(Environment):\n"
        "    async def seed_session(self, row: BaseSeedSessionRequest) -> None:\n"
        "        await asyncio.sleep(30)\n\n"
        "    async def verify(self, state: None, body: BaseVerifyRequest) -> float:\n"
        "        return 1.0\n"
    )
    config = tmp_path / "stall.yaml"
    config.write_text("stall:\n  resources_servers:\n    stall:\n      entrypoint: stall.py\n      domain: other\n")
    data = tmp_path / "d.jsonl"
    data.write_bytes(orjson.dumps({"responses_create_params": {"input": "x"}, "reference_solution": {"answer": "x"}}))
    out = tmp_path / "out.jsonl"
    args = ["collect", "-i", str(data), "-o", str(out), "-c", str(config), "--timeout", "0.3", "--max-attempts", "3"]
    result = CliRunner().invoke(app, args)
    (line,) = lines(out)
    assert line["failure"]["stage"] == "seed" and line["failure"]["attempts"] == 1
    assert result.exit_code == 1, result.output
