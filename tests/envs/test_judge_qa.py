"""gymhall/envs/judge_qa: the rule check, the LLM judge over loopback HTTP, judge failures, the dataset."""

from __future__ import annotations

import asyncio
import calendar
import collections
import datetime
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gymhall import ServerError, load_config
from gymhall.checks.conformance import corruptions
from gymhall.checks.probe import Probe
from gymhall.checks.probes import probes_for
from gymhall.collection.runs import CollectOptions, run_collect
from gymhall.envs.judge_qa.probes import probes
from gymhall.envs.judge_qa.server import ENV_DIR, JudgeQA, JudgeQAConfig, extract_answer, normalize_answer
from gymhall.exceptions import ConfigError
from gymhall.grading.judge import JUDGE_EQUAL, JUDGE_NOT_EQUAL
from gymhall.server.entrypoints import load_server_class
from gymhall.testing import Failure, FakeOpenAI, FakeRequest, client_for, make_response, make_row, serve_in_thread

DATA = ENV_DIR / "data" / "judge_qa.jsonl"
CONFIG = ENV_DIR / "configs" / "judge_qa.yaml"
JUDGE_MODEL_KEY = "judge_qa_resources_server.resources_servers.judge_qa.judge_model"
ALLOW_NO_JUDGE_KEY = "judge_qa_resources_server.resources_servers.judge_qa.allow_no_judge"
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
    row = make_row(fields.get("question", QUESTION), **{"question": QUESTION, "expected_answer": expected, **fields})
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
        (".9", ".9"),  # not 9: a reply "9." reversed must not match
        ("9.", "9"),
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


def test_without_a_judge_the_server_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="no judge is configured") as raised:
        JudgeQA(JudgeQAConfig(name="judge_qa"))
    message = str(raised.value)
    assert "judge_model" in message and "allow_no_judge=true" in message


async def test_the_shipped_config_refuses_to_collect_without_a_judge(tmp_path: Path) -> None:
    options = CollectOptions(input=DATA, output=tmp_path / "out.jsonl", configs=[str(CONFIG)], model="replay")
    with pytest.raises(ConfigError, match="allow_no_judge"):
        await run_collect(options)


async def test_allowed_without_a_judge_only_exact_matches_score() -> None:
    env = JudgeQA(JudgeQAConfig(name="judge_qa", allow_no_judge=True))
    assert (await verify(env, "Canberra"))["reward"] == 1.0
    assert (await verify(env, ""))["reward"] == 0.0
    for reply in ("Sydney", "It is Canberra, in the ACT.", f"Answer: {QUESTION}", "It is not Canberra."):
        result = await verify(env, reply)
        assert result["reward"] == 0.0 and result["graded_by"] == "rule", reply
        assert "_ng_failure_class" not in result  # a score, not a judge failure: the mean covers every rollout


@pytest.mark.parametrize(
    "reply",
    ["**Answer:** Canberra", "**Answer: Canberra**", "```\nAnswer: Canberra\n```", "*Final answer*: Canberra"],
)
async def test_markdown_around_the_answer_prefix_is_an_exact_match(reply: str) -> None:
    result = await verify(JudgeQA(JudgeQAConfig(name="judge_qa", allow_no_judge=True)), reply)
    assert result["reward"] == 1.0 and result["exact_match"] is True


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
    async with client_for(JudgeQA(JudgeQAConfig(name="judge_qa", allow_no_judge=True))) as client:
        with pytest.raises(ServerError, match="422"):
            await client.verify({**make_row("q"), "response": make_response("x")})


def test_the_config_names_the_environment() -> None:
    (instance,) = load_config([CONFIG], env_file=None).of_kind("resources_servers")
    assert instance.name == "judge_qa_resources_server" and instance.implementation == "judge_qa"
    assert load_server_class(instance) is JudgeQA
    config = instance.config_model(JudgeQAConfig)
    assert config.domain == "knowledge" and config.judge_model is None and config.judge_swap_check is False
    assert config.allow_no_judge is False  # a run must name a judge, or say it wants exact match alone


def test_the_dataset_has_the_documented_fields() -> None:
    data = rows()
    assert len(data) >= 500 and len({row["question"] for row in data}) == len(data)
    for row in data:
        assert row["responses_create_params"]["input"][0]["content"].endswith(row["question"])
        assert row["expected_answer"] and row["reference_solution"]["tool_calls"] == []
    tiers = collections.Counter(row["difficulty"] for row in data)
    assert set(tiers) == {"easy", "medium", "hard"} and min(tiers.values()) >= 100


def test_the_generator_reproduces_the_dataset_byte_for_byte(import_file: Callable[[Path, str], ModuleType]) -> None:
    generator = import_file(ENV_DIR / "data" / "generate.py", "gymhall_judge_qa_generate")
    assert generator.render(generator.build_rows()).encode("utf-8") == DATA.read_bytes()


def test_the_computed_facts_are_right() -> None:
    # Checked here another way than the generator computes them: weekdays and spans by date arithmetic
    # from a known Monday, numerals by reading them back, elements by a few well-known entries.
    monday = datetime.date(2024, 1, 1)
    days = "monday tuesday wednesday thursday friday saturday sunday".split()
    months = {name: number for number, name in enumerate(calendar.month_name) if name}
    values = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}

    def date(text: str) -> datetime.date:
        day, month, year = text.split()
        return datetime.date(int(year), months[month], int(day))

    def read(numeral: str) -> int:
        worth = [values[letter] for letter in numeral]
        return sum(-v if v < w else v for v, w in zip(worth, [*worth[1:], 0], strict=True))

    known = {"Which chemical element has atomic number 74?": "Tungsten", "What is the atomic number of Xenon?": "54"}
    for row in rows():
        question, expected = row["question"], row["expected_answer"]
        if match := re.fullmatch(r"On what day of the week is (.+) in the Gregorian calendar\?", question):
            assert days[(date(match[1]) - monday).days % 7] == expected.lower(), question
        elif match := re.fullmatch(r"How many days after (.+) is (.+)\?", question):
            assert (date(match[2]) - date(match[1])).days == int(expected), question
        elif match := re.fullmatch(r"How is the number (\d+) written in Roman numerals\?", question):
            assert read(expected) == int(match[1]), question
        elif match := re.fullmatch(r"What number does the Roman numeral ([IVXLCDM]+) stand for\?", question):
            assert read(match[1]) == int(expected), question
        elif question in known:
            assert expected == known.pop(question)
    assert known == {}


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
    options = CollectOptions(
        input=DATA,
        output=tmp_path / "out.jsonl",
        configs=[str(CONFIG)],
        overrides=[f"{ALLOW_NO_JUDGE_KEY}=true"],
        model="replay",
    )
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


def _judged_pair(request: FakeRequest) -> tuple[str, str]:
    """The question and Answer B (the reply) of a judge prompt in the built-in template."""
    text = request.user_text()
    question = text.removeprefix("Question:\n").split("\n\nAnswer A:\n", 1)[0]
    return question, text.split("\n\nAnswer B:\n", 1)[1]


async def test_every_probe_of_every_row_keeps_its_rule(fake: FakeOpenAI, judge_url: str) -> None:
    # The judge stands in for a competent one: it accepts exactly the replies a careful grader accepts
    # (the variants of the reference) and refuses the rest. A hack that scores anything was paid by the
    # rule check, never by the judge; a variant the rule check cannot decide must reach the judge with
    # the row's question and the whole reply.
    data = rows()
    plays = [(row, probe) for row in data for probe in probes_for(row, probes(row))]
    right = {
        (row["question"], probe.solution(row["reference_solution"])["answer"])
        for row, probe in plays
        if probe.expect == "same"
    }
    fake.policy = lambda request: JUDGE_EQUAL if _judged_pair(request) in right else JUDGE_NOT_EQUAL
    env = JudgeQA(JudgeQAConfig(name="judge_qa", judge_model=judge_url))

    async def score(client: Any, row: dict[str, Any], probe: Probe | None) -> dict[str, Any]:
        solution = row["reference_solution"] if probe is None else probe.solution(row["reference_solution"])
        return dict(await client.verify({**row, "response": make_response(solution["answer"])}))

    try:
        async with client_for(env) as client:
            references = await asyncio.gather(*(score(client, row, None) for row in data))
            results = await asyncio.gather(*(score(client, row, probe) for row, probe in plays))
    finally:
        await env.on_shutdown()
    assert [r["reward"] for r in references] == [1.0] * len(data)
    broken = [
        (row["question"], probe.name, result["reward"])
        for (row, probe), result in zip(plays, results, strict=True)
        if (result["reward"] >= 1.0 if probe.expect == "below" else result["reward"] != 1.0)
    ]
    assert broken == []
    names = {probe.name for _, probe in plays}
    assert {"question echoed", "reference negated", "reference hedged", "prompt echoed", "refusal"} <= names
    # Markdown and padding around an exact answer are decided by the rule check, without a judge call.
    for (row, probe), result in zip(plays, results, strict=True):
        if probe.name in ("reference in bold", "reference in a fenced block", "answer prefix in bold"):
            assert result["graded_by"] == "rule" and result["exact_match"] is True, probe.name
        asked, expected = normalize_answer(row["question"]).split(), normalize_answer(row["expected_answer"])
        if probe.name == "question echoed" and expected not in asked:  # refused before the judge is asked
            assert result["graded_by"] == "rule", probe.name
        if probe.name in ("reference negated", "reference hedged"):
            assert result["graded_by"] == "judge", probe.name


@pytest.mark.parametrize("reply", [f"Answer: {QUESTION}", f"\\boxed{{{QUESTION}}}", f"**{QUESTION.upper()}**"])
async def test_the_question_echoed_scores_0_even_with_a_judge_that_says_yes(
    fake: FakeOpenAI, judge_url: str, reply: str
) -> None:
    env = JudgeQA(JudgeQAConfig(name="judge_qa", judge_model=judge_url))  # the fake judge says "equal" to all
    try:
        result = await verify(env, reply)
        # The question restated with the answer, or with the answer in other words, is the judge's to grade.
        answered = [await verify(env, f"{QUESTION} {answer}") for answer in ("Canberra.", "The city of Canberra.")]
        worded = await verify(env, "What is 15% of 200? Thirty.", expected="30", question="What is 15% of 200?")
    finally:
        await env.on_shutdown()
    assert (result["reward"], result["graded_by"]) == (0.0, "rule")
    assert [(r["reward"], r["graded_by"]) for r in [*answered, worded]] == [(1.0, "judge")] * 3
    assert fake.request_count == 3


async def test_without_a_judge_every_hack_scores_0_and_only_unjudgeable_variants_lose() -> None:
    env = JudgeQA(JudgeQAConfig(name="judge_qa", allow_no_judge=True))
    data = rows()
    plays = [(row, probe) for row in data for probe in probes_for(row, probes(row))]
    async with client_for(env) as client:
        results = await asyncio.gather(
            *(
                client.verify({**row, "response": make_response(probe.solution(row["reference_solution"])["answer"])})
                for row, probe in plays
            )
        )
    lost = {probe.name for (_, probe), result in zip(plays, results, strict=True) if result["reward"] != 1.0}
    paid = [
        probe.name
        for (_, probe), result in zip(plays, results, strict=True)
        if probe.expect == "below" and result["reward"] > 0
    ]
    assert paid == []
    # The reference followed by a sentence is right, but only a judge can tell it from a hedge: exact
    # match alone gives it 0.0 (documented in the README; `gymhall check judge_qa` needs a judge).
    assert lost - {probe.name for _, probe in plays if probe.expect == "below"} == {
        "reference with a trailing sentence"
    }
