"""`gymhall.grading.judge`: verdicts, cache, concurrency, timeouts, failures; a fake judge over loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from gymhall.exceptions import JudgeError
from gymhall.grading.judge import (
    JUDGE_EQUAL,
    JUDGE_NOT_EQUAL,
    Judge,
    JudgeSettings,
    judge_equivalence,
    judge_failed,
    last_user_text,
)
from gymhall.testing import Failure, FakeOpenAI, FakeRequest, serve_in_thread
from gymhall.wire.responses import ResponseCreateParams


class Verdicts:
    """A judge policy answering from a script of texts keyed by a word of the prompt (default: equal)."""

    def __init__(self, answers: dict[str, str | Failure] | None = None, default: str | Failure = JUDGE_EQUAL) -> None:
        self.answers = answers or {}
        self.default = default

    def __call__(self, request: FakeRequest) -> str | Failure:
        prompt = request.user_text()
        for word, answer in self.answers.items():
            if word in prompt:
                return answer
        return self.default


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI(Verdicts(), model="judge")


@pytest.fixture
def url(fake: FakeOpenAI) -> Iterator[str]:
    with serve_in_thread(fake) as base:
        yield base + "/v1#judge"


async def ask_once(spec: str, prompt: str = "Is 1 equal to 1?", **kwargs: Any) -> str:
    judge = Judge(spec, **kwargs)
    try:
        return (await judge.ask(prompt)).label
    finally:
        await judge.aclose()


async def test_verdicts_are_read_from_the_judges_answer(fake: FakeOpenAI, url: str) -> None:
    fake.policy = Verdicts({"apples": f"They differ. {JUDGE_NOT_EQUAL}", "pears": f"Same thing.\n\n{JUDGE_EQUAL}"})
    judge = Judge(url, params={"temperature": 0.0, "input": "ignored"})
    try:
        assert (await judge.ask("apples and oranges")).label == JUDGE_NOT_EQUAL
        verdict = await judge.ask("pears and pears", system="Be strict.")
    finally:
        await judge.aclose()
    assert verdict.label == JUDGE_EQUAL and verdict.text == f"Same thing.\n\n{JUDGE_EQUAL}"
    body = fake.requests[-1].body
    assert body["temperature"] == 0.0 and body["model"] == "judge"
    assert body["input"] == [
        {"role": "system", "content": "Be strict."},
        {"role": "user", "content": "pears and pears"},
    ]
    assert judge.calls == 2 and judge.cache_hits == 0


async def test_the_last_label_is_the_verdict_and_longer_labels_win(url: str) -> None:
    judge = Judge(url, labels=("CORRECT", "INCORRECT"))
    try:
        assert judge.parse("It is CORRECT that... no wait: INCORRECT") == "INCORRECT"
        assert judge.parse("INCORRECT at first, but on reflection CORRECT.") == "CORRECT"
        assert judge.parse("INCORRECT") == "INCORRECT"
        with pytest.raises(JudgeError, match="without a verdict"):
            judge.parse("correct")  # labels are exact, case included
    finally:
        await judge.aclose()


async def test_the_chat_api_is_supported(fake: FakeOpenAI, url: str) -> None:
    assert await ask_once(url, api="chat") == JUDGE_EQUAL
    assert fake.requests[-1].dialect == "chat"


async def test_a_cached_verdict_makes_no_call(fake: FakeOpenAI, url: str) -> None:
    judge = Judge(url, cache_size=2)
    try:
        for prompt in ("a", "a", "b", "a", "c", "b", "b"):
            await judge.ask(prompt)
    finally:
        await judge.aclose()
    # a (call), a (hit), b (call), a (hit), c (call, evicts b), b (call, evicts a), b (hit)
    assert fake.request_count == judge.calls == 4
    assert judge.cache_hits == 3


async def test_the_cache_is_keyed_by_prompt_system_and_params(fake: FakeOpenAI, url: str) -> None:
    judge = Judge(url)
    try:
        await judge.ask("same")
        await judge.ask("same", system="other system")
        await judge.ask([{"role": "user", "content": "same"}])  # the same prompt, written as messages
    finally:
        await judge.aclose()
    assert fake.request_count == 2


async def test_a_cache_of_size_zero_keeps_nothing(fake: FakeOpenAI, url: str) -> None:
    judge = Judge(url, cache_size=0)
    try:
        await judge.ask("x")
        await judge.ask("x")
    finally:
        await judge.aclose()
    assert fake.request_count == 2


async def test_identical_questions_in_flight_share_one_call(fake: FakeOpenAI, url: str) -> None:
    fake.delay_s = 0.2
    judge = Judge(url)
    try:
        verdicts = await asyncio.gather(*(judge.ask("together") for _ in range(5)))
    finally:
        await judge.aclose()
    assert {v.label for v in verdicts} == {JUDGE_EQUAL}
    assert fake.request_count == 1 and judge.cache_hits == 4


async def test_concurrency_is_limited(fake: FakeOpenAI, url: str) -> None:
    inflight, peak = 0, 0

    async def slow(request: FakeRequest) -> str:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await asyncio.sleep(0.05)
        inflight -= 1
        return JUDGE_EQUAL

    fake.policy = slow
    judge = Judge(url, max_concurrency=2)
    try:
        await asyncio.gather(*(judge.ask(f"question {i}") for i in range(6)))
    finally:
        await judge.aclose()
    assert fake.request_count == 6 and peak == 2


async def test_a_slow_judge_times_out(fake: FakeOpenAI, url: str) -> None:
    fake.delay_s = 1.0
    with pytest.raises(JudgeError, match=r"did not answer within 0\.2 s"):
        await ask_once(url, timeout_s=0.2)


async def test_an_http_error_is_a_judge_error_and_is_not_cached(
    fake: FakeOpenAI, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-do-not-print-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    fake.policy = Verdicts(default=Failure(500, f"backend exploded (key {secret})", retry_after=0.001))
    judge = Judge(url)
    try:
        with pytest.raises(JudgeError, match="HTTP 500") as raised:
            await judge.ask("q")
        assert secret not in str(raised.value)
        fake.policy = Verdicts()
        assert (await judge.ask("q")).label == JUDGE_EQUAL  # the failure was not cached: asked again
    finally:
        await judge.aclose()


async def test_an_answer_without_a_label_is_a_judge_error(fake: FakeOpenAI, url: str) -> None:
    fake.policy = Verdicts(default="They look about the same to me.")
    with pytest.raises(JudgeError, match="without a verdict.*about the same"):
        await ask_once(url)


async def test_an_unreachable_judge_is_a_judge_error() -> None:
    # Connection errors are retried with backoff; the timeout bounds the whole call.
    with pytest.raises(JudgeError, match="the judge 'judge'"):
        await ask_once("http://127.0.0.1:9/v1#judge", timeout_s=1.0)


async def test_equivalence_asks_once_without_swap(fake: FakeOpenAI, url: str) -> None:
    judge = Judge(url)
    try:
        result = await judge_equivalence(judge, question="3/4 as a decimal?", expected="0.75", generated="3/4")
    finally:
        await judge.aclose()
    assert result.equal and len(result.verdicts) == 1
    assert "Answer A:\n0.75\n\nAnswer B:\n3/4" in fake.requests[0].user_text()
    assert result.evaluations() == [{"verdict_label": JUDGE_EQUAL, "judge_text": JUDGE_EQUAL}]


@pytest.mark.parametrize(("swap", "equal", "calls"), [(False, True, 1), (True, False, 2)])
async def test_swap_catches_a_position_biased_judge(
    fake: FakeOpenAI, url: str, swap: bool, equal: bool, calls: int
) -> None:
    def biased(request: FakeRequest) -> str:
        # Says "equal" whenever the reference answer is shown first, whatever the other one is.
        return JUDGE_EQUAL if "Answer A:\nParis" in request.user_text() else JUDGE_NOT_EQUAL

    fake.policy = biased
    judge = Judge(url)
    try:
        result = await judge_equivalence(
            judge, question="Capital of France?", expected="Paris", generated="Lyon", swap=swap
        )
    finally:
        await judge.aclose()
    assert result.equal is equal and fake.request_count == calls


async def test_swap_passes_a_consistent_judge(fake: FakeOpenAI, url: str) -> None:
    judge = Judge(url)
    try:
        result = await judge_equivalence(judge, question="q", expected="Paris", generated="paris", swap=True)
    finally:
        await judge.aclose()
    assert result.equal and [v.label for v in result.verdicts] == [JUDGE_EQUAL, JUDGE_EQUAL]
    assert "Answer A:\nparis\n\nAnswer B:\nParis" in fake.requests[1].user_text()


async def test_a_not_equal_verdict_is_not_asked_again(fake: FakeOpenAI, url: str) -> None:
    fake.policy = Verdicts(default=JUDGE_NOT_EQUAL)
    judge = Judge(url)
    try:
        result = await judge_equivalence(judge, question="q", expected="a", generated="b", swap=True)
    finally:
        await judge.aclose()
    assert not result.equal and fake.request_count == 1


def test_judge_failed_follows_the_nemo_gym_contract() -> None:
    assert judge_failed(JudgeError("the judge is down")) == {
        "reward": 0.0,
        "mask_sample": True,  # NeMo Gym 0.7's fields beside 0.4's
        "failure_kind": "judge_failed",
        "failure_reason": "the judge is down",
        "_ng_failure_class": "judge_failed",
        "_ng_failure_judge_error": "the judge is down",
    }


async def test_settings_build_the_judge(fake: FakeOpenAI, url: str) -> None:
    settings = JudgeSettings(
        judge_model=url,
        judge_responses_create_params={"temperature": 0.5, "max_output_tokens": 64},
        judge_max_concurrency=3,
        judge_timeout_seconds=7,
        judge_cache_size=11,
    )
    judge = Judge.from_settings(settings, labels=("YES", "NO"))
    try:
        assert (judge.labels, judge.max_concurrency, judge.timeout_s, judge.cache_size) == (("YES", "NO"), 3, 7, 11)
        fake.policy = Verdicts(default="YES")
        assert (await judge.ask("q")).label == "YES"
        assert fake.requests[-1].body["max_output_tokens"] == 64
    finally:
        await judge.aclose()


def test_settings_refuse_the_replay_model_and_judges_need_a_model() -> None:
    with pytest.raises(ValidationError, match="cannot judge"):
        JudgeSettings(judge_model="replay")
    with pytest.raises(ValueError, match="No judge_model"):
        Judge.from_settings(JudgeSettings())
    with pytest.raises(ValueError, match="Unknown model spec"):
        Judge("nope")
    with pytest.raises(ValueError, match="label"):
        Judge("http://127.0.0.1:9/v1#x", labels=())


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"input": "plain"}, "plain"),
        ({"input": [{"role": "user", "content": "first"}, {"role": "user", "content": "second"}]}, "second"),
        (
            {
                "input": [
                    {"role": "user", "content": [{"type": "input_text", "text": "part"}]},
                    {"role": "system", "content": "x"},
                ]
            },
            "part",
        ),
        ({"input": [{"role": "system", "content": "only system"}]}, ""),
    ],
)
def test_last_user_text(params: dict[str, Any], text: str) -> None:
    assert last_user_text(ResponseCreateParams.model_validate(params)) == text


async def test_the_rollouts_time_left_bounds_the_judge_below_its_own_timeout(fake: FakeOpenAI, url: str) -> None:
    import time

    from gymhall.wire.deadline import rollout_deadline

    fake.delay_s = 3.0
    judge = Judge(url, timeout_s=60.0)
    started = time.monotonic()
    try:
        with rollout_deadline(time.monotonic() + 0.4), pytest.raises(JudgeError) as caught:
            await judge.ask("Is 1 equal to 1?")
    finally:
        await judge.aclose()
    assert time.monotonic() - started < 2.0  # not the judge's 60 s, nor the fake's 3 s
    assert "within 0.4 s (the time left of the rollout it grades)" in str(caught.value)
