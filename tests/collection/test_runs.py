"""`gymhall collect`, `metrics` and `reverify` end to end through the CLI, in-process."""

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from gymhall.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DATA = str(ROOT / "examples" / "counter" / "data" / "example.jsonl")
CONFIG = str(ROOT / "examples" / "counter" / "configs" / "counter.yaml")


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
    # Corrupt one stored answer: a stateless verify recomputes from the stored response only.
    rows[0]["response"]["output"][-1]["content"][0]["text"] = "wrong"
    out.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    result = CliRunner().invoke(app, ["reverify", str(out), "-c", CONFIG])
    assert result.exit_code == 0, result.output
    redone = lines(tmp_path / "out_reverified.jsonl")
    assert len(redone) == 4
    # The counter's verify reads session state, so without a session it is refused, and says why.
    assert all(r["status"] == "failed" and "session" in r["failure"]["error"] for r in redone)


def test_metrics_command_recomputes_the_metrics_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    CliRunner().invoke(app, ["collect", "-i", DATA, "-o", str(out), "-c", CONFIG, "--limit", "2"])
    (tmp_path / "out_metrics.json").unlink()
    result = CliRunner().invoke(app, ["metrics", str(out)])
    assert result.exit_code == 0 and '"mean/reward": 1.0' in result.output
    assert (tmp_path / "out_metrics.json").exists()


STATELESS_ENV = """
from gymhall import BaseVerifyRequest, Environment

class Answer(BaseVerifyRequest):
    expected_answer: str

class Quiz(Environment):
    async def verify(self, state: None, body: Answer) -> float:
        return float(body.response.output_text.strip() == body.expected_answer)
"""


def test_reverify_recomputes_a_stateless_verifier(tmp_path: Path) -> None:
    (tmp_path / "quiz.py").write_text(STATELESS_ENV)
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
    assert CliRunner().invoke(app, ["reverify", str(out), "-c", str(config)]).exit_code == 0
    (redone,) = lines(tmp_path / "judged_out_reverified.jsonl")
    assert redone["status"] == "failed" and "reward" not in redone
    assert redone["failure"]["stage"] == "judge" and redone["failure"]["error"] == "the judge timed out"
