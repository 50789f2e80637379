"""gymhall/envs/math: math-verify grading in killable workers, the judge fallback, the dataset and its generator."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
import pytest

from gymhall import Probe, ServerError, load_config
from gymhall.checks.conformance import corruptions
from gymhall.checks.probes import probes_for
from gymhall.collection.runs import CollectOptions, run_collect
from gymhall.envs.math.forms import FORM_INSTRUCTIONS, FORMS, form_error
from gymhall.envs.math.probes import probes
from gymhall.envs.math.server import Math, MathConfig, MathVerifyRequest
from gymhall.envs.math.verifier import VerifierPool, grade, strip_delimiters
from gymhall.exceptions import ConfigError
from gymhall.grading.judge import JUDGE_EQUAL, JUDGE_NOT_EQUAL
from gymhall.server.entrypoints import load_server_class
from gymhall.testing import Failure, FakeOpenAI, client_for, make_response, make_row, serve_in_thread

ENV_DIR = Path(__file__).resolve().parents[2] / "gymhall" / "envs" / "math"
DATA = ENV_DIR / "data" / "math.jsonl"
CONFIG = ENV_DIR / "configs" / "math.yaml"
ADVERSARIAL = "\\boxed{9^{9^{9^{9}}}}"  # SymPy works on this far longer than any timeout here


def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


def worker_pids() -> set[int]:
    """The math-verify workers of this process (of any pool), zombies included."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "gymhall.envs.math.verifier" in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            continue
        except psutil.ZombieProcess:
            found.add(child.pid)
    return found


def stopped(pids: set[int], timeout_s: float = 10.0) -> bool:
    """Whether the workers `pids` stop once their pool is garbage (a thread may hold it for a moment more)."""
    deadline = time.monotonic() + timeout_s
    while worker_pids() & pids:
        if time.monotonic() > deadline:
            return False
        gc.collect()
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def env() -> Iterator[Math]:
    """One environment for the module: its workers start once (the pool is not bound to an event loop)."""
    math_env = Math(MathConfig(name="math", verify_workers=4))
    yield math_env
    math_env.close()


async def verify(env: Math, reply: str, **fields: Any) -> dict[str, Any]:
    row = make_row("Solve it.", **{"question": "Solve it.", **fields})
    async with client_for(env) as client:
        return await client.verify({**row, "response": make_response(reply)})


@pytest.mark.parametrize(
    ("expected", "reply", "reward"),
    [
        ("\\frac{3}{4}", "So the answer is $\\boxed{\\frac{3}{4}}$.", 1.0),
        ("\\frac{3}{4}", "\\boxed{0.75}", 1.0),
        ("\\frac{3}{4}", "\\boxed{3/4}", 1.0),
        ("\\frac{3}{4}", "\\boxed{\\frac{4}{3}}", 0.0),
        ("2\\sqrt{3}", "\\boxed{\\sqrt{12}}", 1.0),
        ("[1, 3)", "\\boxed{[1,3)}", 1.0),
        ("[1, 3)", "\\boxed{(1,3)}", 0.0),
        ("x^2 + 2x + 1", "\\boxed{(x+1)^2}", 1.0),
        ("-1, 6", "\\boxed{6, -1}", 1.0),
        ("\\(\\frac{1}{2}\\)", "\\boxed{\\dfrac{1}{2}}", 1.0),  # delimiters in the expected answer are stripped
        ("$12$", "The answer is 12", 1.0),  # no box: a plain final expression is read
        ("12", "", 0.0),
        ("12", "I don't know.", 0.0),
    ],
)
async def test_verify_compares_answers_symbolically(env: Math, expected: str, reply: str, reward: float) -> None:
    result = await verify(env, reply, expected_answer=expected)
    assert result["reward"] == reward
    assert result["library_reward"] == reward
    assert result["timed_out"] is False and result["judge_evaluations"] is None


async def test_verify_reports_the_extracted_answer_and_echoes_the_row(env: Math) -> None:
    result = await verify(env, "First 41, then finally \\boxed{42}.", expected_answer="42", family="demo")
    assert result["extracted_answer"] == "42"
    assert result["expected_answer"] == "42" and result["family"] == "demo"
    assert (await verify(env, "\\boxed{7}", expected_answer="42"))["extracted_answer"] == "7"


async def test_text_of_every_assistant_message_is_graded(env: Math) -> None:
    # NeMo Gym's math_with_judge grades the text of the whole episode, not only the last message.
    first = {"id": "m1", "type": "message", "role": "assistant", "status": "completed"}
    first["content"] = [{"type": "output_text", "text": "The answer is \\boxed{5}", "annotations": []}]
    response = make_response("Let me double-check: yes.", output=[first])
    async with client_for(env) as client:
        result = await client.verify({**make_row("q"), "expected_answer": "5", "response": response})
    assert result["reward"] == 1.0


async def test_a_numeric_expected_answer_is_accepted(env: Math) -> None:
    assert (await verify(env, "\\boxed{7}", expected_answer=7))["reward"] == 1.0


async def test_verify_refuses_a_row_without_expected_answer(env: Math) -> None:
    async with client_for(env) as client:
        with pytest.raises(ServerError, match="422") as raised:
            await client.verify({**make_row("q"), "response": make_response("\\boxed{1}")})
    assert "expected_answer" in str(raised.value)


async def test_verify_needs_no_session_but_refuses_a_forged_one(env: Math) -> None:
    async with client_for(env) as client:
        async with await client.seed_session(make_row("q", expected_answer="1")) as session:
            assert (await session.verify(make_response("\\boxed{1}")))["reward"] == 1.0
        body = {**make_row("q"), "expected_answer": "1", "response": make_response("\\boxed{1}")}
        reply = await client._send(
            "POST", "/verify", json.dumps(body).encode(), {"x-gymhall-session": "forged.AAAAAAAAAAAAAAAAAAAAAA"}
        )
    assert reply.status_code == 403


async def test_a_stuck_check_times_out_without_blocking_the_loop() -> None:
    env = Math(MathConfig(name="math", verify_workers=1, verify_timeout_seconds=1.0))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    try:
        assert (await verify(env, "\\boxed{1}", expected_answer="1"))["reward"] == 1.0  # the worker is up
        (first,) = env.verifier.pids
        beat = asyncio.create_task(ticker())
        started = time.monotonic()
        result = await verify(env, ADVERSARIAL, expected_answer="2")
        elapsed = time.monotonic() - started
        beat.cancel()
        assert result["reward"] == 0.0 and result["timed_out"] is True and result["extracted_answer"] is None
        assert 1.0 <= elapsed < 5.0
        assert ticks >= 10  # the event loop kept running while the worker was stuck
        assert first not in worker_pids()  # killed and reaped
        assert (await verify(env, "\\boxed{3}", expected_answer="3"))["reward"] == 1.0  # a new worker took over
        assert env.verifier.started == 2 and len(env.verifier.pids) == 1
        second = env.verifier.pids
    finally:
        await env.on_shutdown()
    assert not worker_pids() & {first, *second}


async def test_closing_stops_every_worker_and_is_idempotent() -> None:
    pool = VerifierPool(workers=2, timeout_s=10.0)
    checks = await asyncio.gather(*(pool.check("4", f"\\boxed{{{n}}}") for n in range(3, 6)))
    assert [c.reward for c in checks] == [0.0, 1.0, 0.0]
    pids = set(pool.pids)
    assert 1 <= len(pids) <= 2 and pids <= worker_pids()
    pool.close()
    pool.close()
    assert not worker_pids() & pids and pool.pids == []
    with pytest.raises(RuntimeError, match="closed"):
        await pool.check("1", "1")


def test_a_collected_pool_stops_its_workers() -> None:
    started: list[int] = []

    async def use() -> None:
        pool = VerifierPool(workers=1, timeout_s=10.0)
        assert (await pool.check("1", "\\boxed{1}")).reward == 1.0
        started.extend(pool.pids)

    asyncio.run(use())
    assert len(started) == 1
    assert stopped(set(started))


def test_grade_and_delimiters() -> None:
    assert strip_delimiters(" \\(x+1\\) ") == "x+1" and strip_delimiters("$5$") == "5" and strip_delimiters("$") == "$"
    assert grade("42", "\\boxed{42}") == (1.0, "42", None)
    assert grade("\\boxed{", "\\boxed{1}") == (0.0, None, None)  # an expected answer math-verify cannot read
    assert grade("42", "\\boxed{40 + 2}", "integer")[::2] == (
        1.0,
        "not in the form asked (integer): it is not a single integer",
    )


# The probes: a restated question, an unsimplified radical, an unexpanded square, an unreduced
# or decimal fraction, roots in the wrong order are equal to the answer but not in the form asked;
# an inequality that solves the problem is a right answer to "solve ... in interval notation".
@pytest.mark.parametrize(
    ("expected", "form", "reply", "reward"),
    [
        ("775", "integer", "\\boxed{39 \\times 33 - 512}", 0.0),
        ("775", "integer", "The final answer is $\\boxed{775}$.", 1.0),
        ("775", "integer", "\\boxed{774 + 1}", 0.0),
        ("775", "integer", "\\boxed{775.0}", 0.0),
        ("9\\sqrt{6}", "radical", "\\boxed{\\sqrt{486}}", 0.0),
        ("9\\sqrt{6}", "radical", "\\boxed{3 \\cdot 3\\sqrt{6}}", 0.0),
        ("9\\sqrt{6}", "radical", "\\boxed{9\\sqrt{6}}", 1.0),
        ("9\\sqrt{6}", "radical", "\\boxed{\\sqrt{6} \\cdot 9}", 1.0),
        ("25x^2 + 40x + 16", "polynomial", "\\boxed{(5x+4)^2}", 0.0),
        ("25x^2 + 40x + 16", "polynomial", "\\boxed{25x^2 + 20x + 20x + 16}", 0.0),
        ("25x^2 + 40x + 16", "polynomial", "\\boxed{16 + 40x + 25x^{2}}", 1.0),
        ("\\frac{19}{6}", "fraction", "\\boxed{\\frac{8}{3} + \\frac{1}{2}}", 0.0),
        ("\\frac{19}{6}", "fraction", "\\boxed{\\frac{38}{12}}", 0.0),
        ("\\frac{1}{2}", "fraction", "\\boxed{0.5}", 0.0),  # math-verify reads 0.5 as \frac{1}{2}: the box is checked
        ("\\frac{19}{6}", "fraction", "\\boxed{\\dfrac{19}{6}}", 1.0),
        ("\\frac{19}{6}", "fraction", "\\boxed{19/6}", 1.0),
        ("119.25", "number", "\\boxed{\\frac{477}{4}}", 1.0),
        ("119.25", "number", "\\boxed{119.25 \\text{ km}}", 1.0),
        ("\\frac{1}{3}", "number", "\\boxed{0.333333}", 0.0),  # math-verify's 6 places accept it; it is rounded
        ("-1, 6", "ascending_list", "\\boxed{6, -1}", 0.0),
        ("-1, 6", "ascending_list", "\\boxed{-1, 6}", 1.0),
        ("-1, 6", "ascending_list", "\\boxed{x = -1, x = 6}", 1.0),
        ("-1, 6", "ascending_list", "$x = \\boxed{-1}$ or $x = \\boxed{6}$", 1.0),
        ("-1, 6", "ascending_list", "$x = \\boxed{6}$ or $x = \\boxed{-1}$", 0.0),
        ("12", "integer", "First \\boxed{5}. So the final answer is \\boxed{12}.", 1.0),  # the box math-verify reads
        ("(2, \\infty)", "interval", "\\boxed{x > 2}", 1.0),
        ("(2, \\infty)", "interval", "\\boxed{2 < x}", 1.0),
        ("(2, \\infty)", "interval", "\\boxed{x \\ge 2}", 0.0),
        ("(2, \\infty)", "interval", "\\boxed{3x - 1 > 5}", 0.0),  # equivalent, but not solved
        ("(2, \\infty)", "interval", "\\boxed{(\\frac{4}{2}, \\infty)}", 0.0),
        ("(-\\frac{1}{3}, 4]", "interval", "\\boxed{-\\frac{1}{3} < x \\le 4}", 1.0),
        ("(-\\frac{1}{3}, 4]", "interval", "\\boxed{-\\frac{1}{3} < x < 4}", 0.0),
    ],
)
async def test_the_answer_must_be_in_the_form_the_row_asks_for(
    env: Math, expected: str, form: str, reply: str, reward: float
) -> None:
    result = await verify(env, reply, expected_answer=expected, answer_form=form)
    assert result["reward"] == reward
    if result["library_reward"] == 1.0:  # equal to the expected answer: only its form can fail it
        assert (result["form_error"] is None) == (reward == 1.0)


async def test_a_plain_number_expected_answer_implies_the_number_form(env: Math) -> None:
    # Rows from other datasets carry no answer_form: a number still wants a number, not the sum restated.
    assert (await verify(env, "\\boxed{39 \\times 33 - 512}", expected_answer="775"))["reward"] == 0.0
    assert (await verify(env, "The answer is 775", expected_answer="775"))["reward"] == 1.0
    result = await verify(env, "\\boxed{\\frac{6}{8}}", expected_answer="\\frac{3}{4}")
    assert result["reward"] == 0.0 and result["library_reward"] == 1.0 and "lowest terms" in result["form_error"]


async def test_form_checks_can_be_turned_off_for_nemo_gym_parity() -> None:
    env = Math(MathConfig(name="math", verify_workers=1, check_answer_form=False))
    try:
        restated = await verify(env, "\\boxed{39 \\times 33 - 512}", expected_answer="775", answer_form="integer")
        unordered = await verify(env, "\\boxed{6, -1}", expected_answer="-1, 6", answer_form="ascending_list")
    finally:
        await env.on_shutdown()
    assert restated["reward"] == unordered["reward"] == 1.0 and restated["form_error"] is None


def test_a_row_naming_an_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError, match="answer_form"):
        MathVerifyRequest.model_validate({**make_row("q"), "expected_answer": "1", "answer_form": "decimal"})
    with pytest.raises(ValueError, match="Unknown answer form 'decimal'"):
        form_error("decimal", "1")


@pytest.mark.parametrize(
    ("form", "answer", "problem"),
    [
        ("integer", "1,000", None),
        ("integer", "x = 5", None),
        ("fraction", "\\frac{-3}{4}", None),
        ("fraction", "\\frac{3}{-4}", "not an integer or a fraction"),
        ("fraction", "\\frac{5}{1}", "not in lowest terms"),
        ("radical", "2\\sqrt{3} + 5\\sqrt{2}", None),
        ("radical", "2\\sqrt{3} + 5\\sqrt{3}", "not combined"),
        ("radical", "\\sqrt{2}\\sqrt{3}", "multiplies square roots"),
        ("polynomial", "x^{3} - 3x^2 + 3x - 1", None),
        ("polynomial", "x^2 + y", "mixes variables"),
        ("interval", "(-\\infty, 1) \\cup [2, \\infty)", None),
        ("interval", "x \\in (2, \\infty)", None),
        ("interval", "x < y", "simplified number"),
        ("ascending_list", "\\{-\\frac{1}{2}, 3\\}", None),
        ("ascending_list", "-1, 3, 2", "smallest first"),
        ("ascending_list", "-2 + 1, 6", "not a simplified number"),
    ],
)
def test_form_error_names_what_is_wrong(form: str, answer: str, problem: str | None) -> None:
    found = form_error(form, answer)
    assert found is None if problem is None else (found is not None and problem in found)


# math-verify takes about a second to expand this product (well inside its own 5 s limit): time to kill.
SLOW_EXPECTED = "(x^2+3x+2)^{60}"
SLOW_ANSWER = "\\boxed{(x+1)^{60}(x+2)^{60}}"
KILL_AFTER_S = 0.2


async def wait_for_new_worker(pool: VerifierPool, old: set[int], timeout_s: float = 60.0) -> int:
    deadline = time.monotonic() + timeout_s
    while not set(pool.pids) - old:
        assert time.monotonic() < deadline, "no new worker started"
        await asyncio.sleep(0.02)
    (pid,) = set(pool.pids) - old
    return pid


async def test_a_worker_killed_during_a_check_is_replaced_and_the_check_rerun(caplog: Any) -> None:
    pool = VerifierPool(workers=1, timeout_s=60.0)
    try:
        assert (await pool.check("1", "\\boxed{1}")).reward == 1.0  # the worker is up and idle
        (first,) = pool.pids
        checking = asyncio.create_task(pool.check(SLOW_EXPECTED, SLOW_ANSWER))
        await asyncio.sleep(KILL_AFTER_S)  # the worker is expanding the product
        assert not checking.done()
        os.kill(first, signal.SIGKILL)
        check = await checking
        assert (check.reward, check.crashed, check.timed_out) == (1.0, False, False)  # graded again, rightly
        assert first not in pool.pids and pool.started == 2 and len(pool.pids) == 1
        assert "checking again on a new worker" in caplog.text
    finally:
        pool.close()


async def test_a_worker_killed_twice_on_one_answer_scores_it_0(caplog: Any) -> None:
    pool = VerifierPool(workers=1, timeout_s=60.0)
    try:
        assert (await pool.check("1", "\\boxed{1}")).reward == 1.0
        (first,) = pool.pids
        checking = asyncio.create_task(pool.check(SLOW_EXPECTED, SLOW_ANSWER))
        await asyncio.sleep(KILL_AFTER_S)
        os.kill(first, signal.SIGKILL)
        second = await wait_for_new_worker(pool, {first})
        await asyncio.sleep(KILL_AFTER_S)  # the new worker is grading the same answer
        os.kill(second, signal.SIGKILL)
        check = await checking
        assert (check.reward, check.crashed, check.extracted_answer) == (0.0, True, None)
        assert "died again on the same answer" in caplog.text
        assert (await pool.check("2", "\\boxed{2}")).reward == 1.0  # the pool still works
        assert pool.started == 3
    finally:
        pool.close()


@pytest.fixture
def judge_fake() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI(lambda request: JUDGE_EQUAL, model="judge")
    with serve_in_thread(fake) as url:
        yield fake, url + "/v1#judge"


async def test_the_judge_grades_what_math_verify_does_not_accept(judge_fake: tuple[FakeOpenAI, str]) -> None:
    fake, url = judge_fake
    env = Math(MathConfig(name="math", verify_workers=1, use_judge=True, judge_model=url))
    try:
        accepted = await verify(env, "\\boxed{0.5}", expected_answer="\\frac{1}{2}")
        assert accepted["reward"] == 1.0 and fake.request_count == 0  # math-verify said yes: no judge
        judged = await verify(env, "One half.", expected_answer="\\frac{1}{2}", question="Half of 1?")
        assert judged["reward"] == 1.0 and judged["library_reward"] == 0.0
        # asked in both orders
        assert [e["verdict_label"] for e in judged["judge_evaluations"]] == [JUDGE_EQUAL, JUDGE_EQUAL]
        assert "Half of 1?" in fake.requests[0].user_text() and "One half." in fake.requests[0].user_text()
        fake.policy = lambda request: JUDGE_NOT_EQUAL
        rejected = await verify(env, "Two thirds.", expected_answer="\\frac{1}{2}")
        assert rejected["reward"] == 0.0 and len(rejected["judge_evaluations"]) == 1
        assert (await verify(env, "", expected_answer="1"))["judge_evaluations"] is None  # nothing to judge
    finally:
        await env.on_shutdown()


@pytest.mark.parametrize("answer", [Failure(500, "judge down", retry_after=0.001), "no verdict here"])
async def test_a_judge_failure_is_reported_not_scored(judge_fake: tuple[FakeOpenAI, str], answer: Any) -> None:
    fake, url = judge_fake
    fake.policy = lambda request: answer
    env = Math(MathConfig(name="math", verify_workers=1, use_judge=True, judge_model=url))
    try:
        result = await verify(env, "One half.", expected_answer="\\frac{1}{2}")
    finally:
        await env.on_shutdown()
    assert result["_ng_failure_class"] == "judge_failed" and result["reward"] == 0.0
    assert "judge" in result["_ng_failure_judge_error"]


def test_use_judge_needs_a_judge_model() -> None:
    with pytest.raises(ValueError, match="no judge_model is set.*judge_model_server is not supported"):
        MathConfig(name="math", use_judge=True, judge_model_server={"type": "responses_api_models", "name": "x"})
    with pytest.raises(ConfigError, match="Unknown model spec"):
        Math(MathConfig(name="math", use_judge=True, judge_model="nope"))


def test_the_config_names_the_environment() -> None:
    (instance,) = load_config([CONFIG], env_file=None).of_kind("resources_servers")
    assert instance.name == "math_resources_server" and instance.implementation == "math"
    assert load_server_class(instance) is Math
    config = instance.config_model(MathConfig)
    assert config.domain == "math" and not config.use_judge and config.verify_timeout_seconds == 10.0


def test_the_dataset_has_the_documented_fields() -> None:
    data = rows()
    assert len(data) >= 500 and len({row["question"] for row in data}) == len(data)
    for row in data:
        prompt = row["responses_create_params"]["input"][0]["content"]
        assert prompt.endswith(row["question"]) and "\\boxed{}" in prompt
        assert row["answer_form"] in FORMS and FORM_INSTRUCTIONS[row["answer_form"]] in prompt  # the form is stated
        assert row["difficulty"] in ("easy", "medium", "hard")
        assert row["reference_solution"]["tool_calls"] == []
        assert "\\boxed{" in row["reference_solution"]["answer"]
    tiers = Counter(row["difficulty"] for row in data)
    assert min(tiers.values()) >= 150, tiers
    families = Counter(row["family"] for row in data)
    assert len(families) >= 16 and all(
        Counter(r["difficulty"] for r in data if r["family"] == f).keys() == tiers.keys() for f in families
    )


def test_the_generator_reproduces_the_dataset(import_file: Callable[[Path, str], ModuleType]) -> None:
    generator = import_file(ENV_DIR / "data" / "generate.py", "gymhall_math_generate")
    assert generator.render() == DATA.read_text(encoding="utf-8")


def test_hand_written_rows_are_appended_unchanged(
    import_file: Callable[[Path, str], ModuleType], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = import_file(ENV_DIR / "data" / "generate.py", "gymhall_math_generate_extra")
    generated = generator.rows()
    mine = {
        "question": "What is $6 \\times 7$?",
        "expected_answer": "42",
        "answer_form": "integer",
        "difficulty": "easy",
    }
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps(mine) + "\n\n", encoding="utf-8")
    monkeypatch.setattr(generator, "EXTRA", extra)
    assert generator.rows() == [*generated, mine]


def row_sample() -> list[dict[str, Any]]:
    """The first row of each family and tier: every generator and answer form, at a tenth of the checks."""
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows():
        first.setdefault((row["family"], row["difficulty"]), row)
    return list(first.values())


async def probe_failures(env: Math, data: list[dict[str, Any]]) -> list[str]:
    """Every probe (generic and the env's own) of every row, played as the agent's final message: the broken ones."""
    plays = [(row, None) for row in data] + [(row, p) for row in data for p in probes_for(row, probes(row))]
    gate = asyncio.Semaphore(16)

    async def score(client: Any, row: dict[str, Any], probe: Probe | None) -> float:
        answer = (probe.solution(row["reference_solution"]) if probe else row["reference_solution"])["answer"]
        async with gate:
            return float((await client.verify({**row, "response": make_response(answer)}))["reward"])

    async with client_for(env) as client:
        rewards = await asyncio.gather(*(score(client, row, probe) for row, probe in plays))
    reference = {id(row): reward for (row, probe), reward in zip(plays, rewards, strict=True) if probe is None}
    broken = [
        f"row {row['question']!r}: reference scores {reward}"
        for (row, p), reward in zip(plays, rewards, strict=True)
        if p is None and reward != 1.0
    ]
    for (row, probe), reward in zip(plays, rewards, strict=True):
        if probe is None:
            continue
        kept = reward < reference[id(row)] if probe.expect == "below" else reward == reference[id(row)]
        if not kept:
            broken.append(f"{probe.name} ({probe.expect}) scored {reward} on {row['question']!r}: {probe.answer!r}")
    return broken


async def test_every_probe_keeps_its_rule_on_a_sample_of_rows(env: Math) -> None:
    # A fixed sample (one row per family and tier, 48 rows, ~750 checks): math-verify takes ~10 ms a check.
    sample = row_sample()
    assert len(sample) == 48
    names = {p.name for row in sample for p in probes_for(row, probes(row))}
    assert {"question echoed in the answer format", "answer not in the form asked", "solutions largest first"} <= names
    assert await probe_failures(env, sample) == []


@pytest.mark.slow  # every probe of every row: ~9,000 symbolic checks
async def test_every_probe_keeps_its_rule_on_every_row(env: Math) -> None:
    assert await probe_failures(env, rows()) == []


@pytest.mark.slow  # three symbolic checks a row
async def test_every_reference_solution_scores_1_and_corrupted_ones_do_not(env: Math) -> None:
    data = rows()

    async def score(client: Any, row: dict[str, Any], answer: str) -> float:
        result = await client.verify({**row, "response": make_response(answer)})
        return float(result["reward"])

    # The conformance checker's corruptions (answer reversed, answer emptied): each one scores 0.
    wrong = [(r, c["answer"]) for r in data for _, c in corruptions(r["reference_solution"])]
    async with client_for(env) as client:
        right = await asyncio.gather(*(score(client, r, r["reference_solution"]["answer"]) for r in data))
        corrupted = await asyncio.gather(*(score(client, r, answer) for r, answer in wrong))
    assert right == [1.0] * len(data)
    assert len(wrong) == 2 * len(data) and corrupted == [0.0] * len(wrong)


@pytest.mark.slow  # starts a server's worker processes
async def test_collecting_with_the_replay_model_scores_1(tmp_path: Path) -> None:
    output = tmp_path / "math.jsonl"
    options = CollectOptions(
        input=DATA,
        output=output,
        configs=[str(CONFIG)],
        overrides=["math_resources_server.resources_servers.math.verify_workers=4"],
        model="replay",
    )
    before = worker_pids()
    stats = await run_collect(options)
    assert (stats.ok, stats.failed, stats.mean_reward) == (len(rows()), 0, 1.0)
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert all(line["status"] == "ok" and line["extracted_answer"] for line in lines)
    assert stopped(worker_pids() - before)  # the in-process server is garbage now: its workers stop with it
