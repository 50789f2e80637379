"""gymhall/envs/judge_qa: the rule check, the LLM judge over loopback HTTP, judge failures, the dataset."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gymhall import ServerError, load_config
from gymhall.checks.conformance import corruptions
from gymhall.collection.runs import CollectOptions, run_collect
from gymhall.envs.judge_qa.server import ENV_DIR, JudgeQA, JudgeQAConfig, extract_answer, normalize_answer
from gymhall.exceptions import ConfigError
from gymhall.grading.judge import JUDGE_EQUAL, JUDGE_NOT_EQUAL
from gymhall.server.entrypoints import load_server_class
from gymhall.testing import Failure, FakeOpenAI, FakeRequest, client_for, make_response, make_row, serve_in_thread

DATA = ENV_DIR / "data" / "judge_qa.jsonl"
CONFIG = ENV_DIR / "configs" / "judge_qa.yaml"
JUDGE_MODEL_KEY = "judge_qa_resources_server.resources_servers.judge_qa.judge_model"
QUESTION = "What is the capital city of Australia?"


def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI(lambda request: f"Same city.\n{JUDGE_EQUAL}", model="judge")


@pytest.fixture
def judge_url(fake: FakeOpenAI) -> Iterator[str]:
    with serve_in_thread(fake) as url:
        yield url + "/v1#judge"


async def verify(env: JudgeQA, reply: str, expected: str = "Canberra", **fields: Any) -> dict[str, Any]:
    row = make_row(QUESTION, question=QUESTION, expected_answer=expected, **fields)
    async with client_for(env) as client:
        return await client.verify({**row, "response": make_response(reply)})


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("The Pacific Ocean.", "pacific ocean"),
        ("Brasília", "brasilia"),
        ("  Leonardo   da Vinci! ", "leonardo da vinci"),
        ("-2", "-2"),
        ("3.14", "3.14"),
        ("x-ray", "x ray"),
        ("An apple", "apple"),
    ],
)
def test_normalize_answer(text: str, normal: str) -> None:
    assert normalize_answer(text) == normal


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("Answer: Mars", "Mars"),
        ("final answer - Mars", "Mars"),
        ("I think it is \\boxed{Au}.", "Au"),
        ("\\boxed{x} no, \\boxed{\\text{gold}}", "\\text{gold}"),
        ("\\boxed{unclosed", "\\boxed{unclosed"),
        ("Paris", "Paris"),
    ],
)
def test_extract_answer(reply: str, answer: str) -> None:
    assert extract_answer(reply) == answer


@pytest.mark.parametrize("reply", ["Canberra", "canberra.", "Answer: Canberra", "\\boxed{Canberra}", "The Canberra"])
async def test_an_exact_match_scores_1_without_the_judge(fake: FakeOpenAI, judge_url: str, reply: str) -> None:
    env = JudgeQA(JudgeQAConfig(name="judge_qa", judge_model=judge_url))
    try:
        result = await verify(env, reply)
    finally:
        await env.on_shutdown()
    assert result["reward"] == 1.0 and result["exact_match"] is True and result["judge_evaluations"] is None
    assert fake.request_count == 0


@pytest.mark.parametrize("reply", ["", "   \n", "Answer: "])
async def test_an_empty_answer_scores_0_without_the_judge(fake: FakeOpenAI, judge_url: str, reply: str) -> None:
    env = JudgeQA(JudgeQAConfig(name="judge_qa", judge_model=judge_url))
    try:
        result = await verify(env, reply)
    finally:
        await env.on_shutdown()
    assert result["reward"] == 0.0 and fake.request_count == 0


@pytest.mark.parametrize(("verdict", "reward"), [(JUDGE_EQUAL, 1.0), (JUDGE_NOT_EQUAL, 0.0)])
async def test_the_judge_grades_other_answers(fake: FakeOpenAI, judge_url: str, verdict: str, reward: float) -> None:
    fake.policy = lambda request: f"Reasoning...\n\n{verdict}"
    env = JudgeQA(JudgeQAConfig(name="judge_qa", judge_model=judge_url))
    try:
        result = await verify(env, "It is the city of Canberra, in the ACT.")
    finally:
        await env.on_shutdown()
    assert result["reward"] == reward and result["exact_match"] is False
    assert result["judge_evaluations"] == [{"verdict_label": verdict, "judge_text": f"Reasoning...\n\n{verdict}"}]
    prompt = fake.requests[0].user_text()
    assert QUESTION in prompt and "Answer A:\nCanberra" in prompt and "in the ACT." in prompt
    assert "temperature" not in fake.requests[0].body  # no sampling params unless configured


async def test_a_cached_verdict_makes_no_second_call(fake: FakeOpenAI, judge_url: str) -> None:
    env = JudgeQA(JudgeQAConfig(name="judge_qa", judge_model=judge_url))
    try:
        rewards = [(await verify(env, "Canberra, Australia"))["reward"] for _ in range(3)]
        await verify(env, "Sydney")
    finally:
        await env.on_shutdown()
    assert rewards == [1.0, 1.0, 1.0]
    assert fake.request_count == 2 and env.judge is not None and env.judge.cache_hits == 2


async def test_the_swap_check_asks_twice(fake: FakeOpenAI, judge_url: str) -> None:
    def biased(request: FakeRequest) -> str:
        return JUDGE_EQUAL if "Answer A:\nCanberra" in request.user_text() else JUDGE_NOT_EQUAL

    fake.policy = biased
    config = JudgeQAConfig(name="judge_qa", judge_model=judge_url, judge_swap_check=True)
    env = JudgeQA(config)
    try:
        result = await verify(env, "Sydney")
    finally:
        await env.on_shutdown()
    assert result["reward"] == 0.0 and fake.request_count == 2


@pytest.mark.parametrize(
    "answer", [Failure(500, "the judge is down", retry_after=0.001), "I'd rather not say."], ids=["http-500", "garbage"]
)
async def test_a_judge_failure_follows_the_judge_failed_contract(fake: FakeOpenAI, judge_url: str, answer: Any) -> None:
    fake.policy = lambda request: answer
    env = JudgeQA(JudgeQAConfig(name="judge_qa", judge_model=judge_url))
    try:
        result = await verify(env, "Sydney")
    finally:
        await env.on_shutdown()
    assert result["_ng_failure_class"] == "judge_failed" and result["reward"] == 0.0
    assert "the judge 'judge'" in result["_ng_failure_judge_error"]


async def test_without_a_judge_only_rule_decisions_are_scored() -> None:
    env = JudgeQA(JudgeQAConfig(name="judge_qa"))
    assert (await verify(env, "Canberra"))["reward"] == 1.0
    assert (await verify(env, ""))["reward"] == 0.0
    result = await verify(env, "Sydney")
    assert (
        result["_ng_failure_class"] == "judge_failed" and "no judge is configured" in result["_ng_failure_judge_error"]
    )


async def test_settings_shape_the_judge_prompt(fake: FakeOpenAI, judge_url: str, tmp_path: Path) -> None:
    template = tmp_path / "prompt.txt"
    template.write_text("Q={question} GOLD={expected_answer} CANDIDATE={generated_answer} {{literal}}\n")
    config = JudgeQAConfig(
        name="judge_qa",
        judge_model=judge_url,
        judge_prompt_template_fpath=str(template),
        judge_system_message="",
        judge_equal_label="SAME",
        judge_not_equal_label="DIFFERENT",
        judge_responses_create_params={"temperature": 0.0, "max_output_tokens": 32},
    )
    fake.policy = lambda request: "SAME"
    env = JudgeQA(config)
    try:
        assert (await verify(env, "Canberra City"))["reward"] == 1.0
    finally:
        await env.on_shutdown()
    body = fake.requests[0].body
    assert body["input"] == [
        {"role": "user", "content": f"Q={QUESTION} GOLD=Canberra CANDIDATE=Canberra City {{literal}}"}
    ]
    assert body["temperature"] == 0.0 and body["max_output_tokens"] == 32


def test_a_bad_template_is_a_config_error(tmp_path: Path) -> None:
    template = tmp_path / "prompt.txt"
    template.write_text("{question} {answer}")
    with pytest.raises(ConfigError, match="not a valid template"):
        JudgeQA(JudgeQAConfig(name="judge_qa", judge_prompt_template_fpath=str(template)))
    # A relative path resolves against the environment's directory.
    with pytest.raises(ConfigError, match=str(ENV_DIR / "prompts" / "missing.txt")):
        JudgeQA(JudgeQAConfig(name="judge_qa", judge_prompt_template_fpath="prompts/missing.txt"))
    with pytest.raises(ConfigError, match="Unknown model spec"):
        JudgeQA(JudgeQAConfig(name="judge_qa", judge_model="nope"))


async def test_verify_refuses_a_row_without_expected_answer() -> None:
    async with client_for(JudgeQA()) as client:
        with pytest.raises(ServerError, match="422"):
            await client.verify({**make_row("q"), "response": make_response("x")})


def test_the_config_names_the_environment() -> None:
    (instance,) = load_config([CONFIG], env_file=None).of_kind("resources_servers")
    assert instance.name == "judge_qa_resources_server" and instance.implementation == "judge_qa"
    assert load_server_class(instance) is JudgeQA
    config = instance.config_model(JudgeQAConfig)
    assert config.domain == "knowledge" and config.judge_model is None and config.judge_swap_check is False


def test_the_dataset_has_the_documented_fields() -> None:
    data = rows()
    assert len(data) >= 50 and len({row["question"] for row in data}) == len(data)
    for row in data:
        assert row["responses_create_params"]["input"][0]["content"].endswith(row["question"])
        assert row["expected_answer"] and row["reference_solution"]["tool_calls"] == []


async def test_every_reference_solution_scores_1_and_corrupted_ones_do_not(fake: FakeOpenAI, judge_url: str) -> None:
    fake.policy = lambda request: JUDGE_NOT_EQUAL
    env = JudgeQA(JudgeQAConfig(name="judge_qa", judge_model=judge_url))
    data = rows()

    async def score(client: Any, row: dict[str, Any], answer: str) -> float:
        return float((await client.verify({**row, "response": make_response(answer)}))["reward"])

    try:
        async with client_for(env) as client:
            right = await asyncio.gather(*(score(client, r, r["reference_solution"]["answer"]) for r in data))
            assert fake.request_count == 0  # every reference answer is an exact match: offline, no key needed
            # The conformance checker's corruptions (answer reversed, answer emptied).
            wrong = [(r, c["answer"]) for r in data for _, c in corruptions(r["reference_solution"])]
            corrupted = await asyncio.gather(*(score(client, r, answer) for r, answer in wrong))
    finally:
        await env.on_shutdown()
    assert right == [1.0] * len(data)
    assert len(wrong) == 2 * len(data) and corrupted == [0.0] * len(wrong)


async def test_collecting_with_the_replay_model_scores_1_offline(tmp_path: Path) -> None:
    options = CollectOptions(input=DATA, output=tmp_path / "out.jsonl", configs=[str(CONFIG)], model="replay")
    stats = await run_collect(options)
    assert (stats.ok, stats.failed, stats.mean_reward) == (len(rows()), 0, 1.0)


@pytest.mark.parametrize(
    ("answer", "status", "reward"),
    [
        (JUDGE_EQUAL, "ok", 1.0),
        (JUDGE_NOT_EQUAL, "ok", 0.0),
        (Failure(500, "the judge is down", retry_after=0.001), "failed", None),
        ("Hmm, hard to say.", "failed", None),
    ],
    ids=["equal", "not-equal", "http-500", "garbage"],
)
async def test_collected_judge_verdicts_and_failures(
    fake: FakeOpenAI, judge_url: str, tmp_path: Path, answer: Any, status: str, reward: float | None
) -> None:
    fake.policy = lambda request: answer
    data = tmp_path / "rows.jsonl"
    row = make_row(QUESTION, question=QUESTION, expected_answer="Canberra")
    lines = [
        {**row, "reference_solution": {"tool_calls": [], "answer": "Canberra"}},
        {**row, "reference_solution": {"tool_calls": [], "answer": "Sydney, I believe"}},
    ]
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))
    output = tmp_path / "out.jsonl"
    options = CollectOptions(
        input=data, output=output, configs=[str(CONFIG)], overrides=[f"{JUDGE_MODEL_KEY}={judge_url}"], max_attempts=1
    )
    await run_collect(options)
    exact, judged = [json.loads(line) for line in output.read_text().splitlines()]
    assert exact["status"] == "ok" and exact["reward"] == 1.0
    assert judged["status"] == status and judged.get("reward") == reward
    if status == "failed":
        assert judged["failure"]["stage"] == "judge" and judged["failure"]["retryable"] is True
        assert "the judge 'judge'" in judged["failure"]["error"]
