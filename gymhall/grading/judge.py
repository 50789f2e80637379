"""LLM-as-judge for environments: ask a judge model, read a strict verdict label, cache it.

    judge = Judge("openai:gpt-4.1-mini", labels=(JUDGE_EQUAL, JUDGE_NOT_EQUAL))
    try:
        result = await judge_equivalence(judge, question=q, expected="3/4", generated="0.75", swap=True)
    except JudgeError as error:
        return judge_failed(error)  # NeMo Gym's judge-failure contract, not a reward of 0
    return {"reward": float(result.equal), "judge_evaluations": result.evaluations()}

A judge is any gymhall `Model`, usually named by a spec string as `gymhall collect --model` takes
them (`openai:MODEL`, `http://host:port/v1#model`, ...); API keys come from the environment and
never appear in messages. The verdict is the last of the judge's labels in the text of its last
message. Verdicts are cached (a bounded LRU keyed by model and prompt; identical questions asked at
the same time share one call), calls are limited by a semaphore and a timeout, and every failure
(HTTP error, timeout, an answer without a label) is a `JudgeError`.

A `Judge` holds connections and a semaphore of the event loop that first uses it: make one per
server (or per test), and `aclose()` it when done.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import BaseModel, Field, field_validator

from gymhall.exceptions import JudgeError, ModelError
from gymhall.models.base import Model, ModelRequest
from gymhall.wire import contract
from gymhall.wire.deadline import time_left

if TYPE_CHECKING:
    from gymhall.wire.responses import Response, ResponseCreateParams

__all__ = [
    "JUDGE_EQUAL",
    "JUDGE_EQUIVALENCE_PROMPT",
    "JUDGE_EQUIVALENCE_SYSTEM",
    "JUDGE_NOT_EQUAL",
    "Equivalence",
    "Judge",
    "JudgeSettings",
    "Verdict",
    "judge_equivalence",
    "judge_failed",
    "last_user_text",
]

JUDGE_EQUAL = "[[A=B]]"
JUDGE_NOT_EQUAL = "[[A!=B]]"

JUDGE_EQUIVALENCE_SYSTEM = f"""You decide whether two answers to the same question say the same thing.

Judge only the final answers: ignore wording, formatting, units written differently, and how much
working is shown. Numbers and expressions are the same if they are mathematically equal. An answer
that adds a wrong or contradicting claim, leaves out a required part, or hedges between several
answers is not the same.

Think briefly, then end your reply with exactly one verdict label:
{JUDGE_EQUAL} if the answers are equivalent,
{JUDGE_NOT_EQUAL} if they are not."""

JUDGE_EQUIVALENCE_PROMPT = """Question:
{question}

Answer A:
{expected_answer}

Answer B:
{generated_answer}"""

_SHOWN_TEXT = 200  # characters of an unparseable answer quoted in the error


@dataclass(frozen=True)
class Verdict:
    """The judge's verdict: the label it chose and the text of its answer."""

    label: str
    text: str


class Judge:
    """An LLM judge: sends a prompt to a model and reads one of `labels` from its answer.

    Args:
        model: a model spec string (see `gymhall.models.spec_strings.model_from_spec`) or a `Model`.
        labels: the verdict labels; the last one found in the answer's text is the verdict.
        params: Responses create params sent with every prompt (temperature, max_output_tokens...);
            `input` is the prompt's.
        api: the API a spec's server is called with, "responses" or "chat".
        max_concurrency: judge calls in flight at once; more wait their turn.
        timeout_s: the limit of one call, retries included; waiting for a turn does not count.
        cache_size: verdicts kept (least recently used are dropped); 0 keeps none.
    """

    def __init__(
        self,
        model: str | Model,
        *,
        labels: Sequence[str] = (JUDGE_EQUAL, JUDGE_NOT_EQUAL),
        params: Mapping[str, Any] | None = None,
        api: Literal["responses", "chat"] = "responses",
        max_concurrency: int = 16,
        timeout_s: float = 60.0,
        cache_size: int = 4096,
    ) -> None:
        if not labels or any(not label for label in labels):
            raise ValueError("A judge needs at least one verdict label, and labels cannot be empty.")
        if max_concurrency < 1 or timeout_s <= 0 or cache_size < 0:
            raise ValueError("max_concurrency must be at least 1, timeout_s positive and cache_size not negative.")
        if isinstance(model, str):
            from gymhall.models.spec_strings import model_from_spec

            model = model_from_spec(model, api=api)
        self.model = model
        self.labels = tuple(labels)
        self.params = {key: value for key, value in (params or {}).items() if key != "input"}
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.cache_size = cache_size
        self.calls = 0  # model calls made (cache hits make none)
        self.cache_hits = 0
        # Longest first, so a label inside another ("CORRECT" in "INCORRECT") never wins over it.
        ordered = sorted(self.labels, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(label) for label in ordered))
        self._cache: OrderedDict[tuple[str, bytes], Verdict] = OrderedDict()
        self._pending: dict[tuple[str, bytes], asyncio.Task[Verdict]] = {}
        self._semaphore: asyncio.Semaphore | None = None

    @classmethod
    def from_settings(cls, settings: JudgeSettings, *, labels: Sequence[str] = (JUDGE_EQUAL, JUDGE_NOT_EQUAL)) -> Judge:
        """The judge an environment config's `judge_*` settings describe; they must name `judge_model`."""
        if not settings.judge_model:
            raise ValueError("No judge_model is set: name one, e.g. judge_model: openai:gpt-4.1-mini.")
        return cls(
            settings.judge_model,
            labels=labels,
            params=settings.judge_responses_create_params,
            api=settings.judge_api,
            max_concurrency=settings.judge_max_concurrency,
            timeout_s=settings.judge_timeout_seconds,
            cache_size=settings.judge_cache_size,
        )

    async def ask(self, prompt: str | Sequence[Mapping[str, Any]], *, system: str | None = None) -> Verdict:
        """The judge's verdict on `prompt` (a user message's text, or input messages); raises `JudgeError`."""
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
        if system is not None:
            messages.insert(0, {"role": "system", "content": system})
        params = {**self.params, "input": messages}
        key = (self.model.name, orjson.dumps(params, option=orjson.OPT_SORT_KEYS))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return cached
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._call(params))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        else:
            self.cache_hits += 1  # the same question is being asked right now: share its answer
        # Shielded: a caller that gives up does not cancel the call others may be waiting on.
        return await asyncio.shield(task)

    def parse(self, text: str) -> str:
        """The verdict label in `text`: the last label it contains; `JudgeError` if it has none."""
        found = self._pattern.findall(text)
        if not found:
            quoted = text.strip()[:_SHOWN_TEXT] or "(nothing)"
            expected = " or ".join(self.labels)
            raise JudgeError(f"the judge {self.model.name!r} answered without a verdict ({expected}): {quoted!r}")
        return str(found[-1])

    async def aclose(self) -> None:
        """Close the model's connections."""
        await self.model.aclose()

    def _settle(self, key: tuple[str, bytes], task: asyncio.Task[Verdict]) -> None:
        self._pending.pop(key, None)
        if task.cancelled() or task.exception() is not None:  # failures are not cached: the next ask retries
            return
        if self.cache_size:
            self._cache[key] = task.result()
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    async def _call(self, params: Mapping[str, Any]) -> Verdict:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        name = self.model.name
        async with self._semaphore:
            # The rollout's time left, when the agent sent it, bounds the judge too (gymhall.wire.deadline).
            left = time_left()
            limit = self.timeout_s if left is None else min(self.timeout_s, left)
            whose = "" if limit == self.timeout_s else " (the time left of the rollout it grades)"
            self.calls += 1
            try:
                async with asyncio.timeout(limit):
                    request = ModelRequest(params=params, deadline=time.monotonic() + limit)
                    response = await self.model.respond(request)
            except TimeoutError:
                raise JudgeError(f"the judge {name!r} did not answer within {limit:.3g} s{whose}") from None
            except ModelError as exc:
                raise JudgeError(f"the judge {name!r} failed: {exc}") from None
        text = _last_message_text(response)
        return Verdict(self.parse(text), text)


def _last_message_text(response: Response) -> str:
    """The text of the response's last message (a reasoning judge's reasoning items come before it)."""
    for item in reversed(response.output):
        if getattr(item, "type", None) == "message":
            parts = getattr(item, "content", None) or []
            return "".join(
                str(getattr(part, "text", "")) for part in parts if getattr(part, "type", "") == "output_text"
            )
    return ""


@dataclass(frozen=True)
class Equivalence:
    """Whether the judge found two answers equivalent, and the verdicts it gave (one or two)."""

    equal: bool
    verdicts: tuple[Verdict, ...]

    def evaluations(self) -> list[dict[str, str]]:
        """The verdicts as verify-response fields: the label and the judge's text of each."""
        return [{"verdict_label": v.label, "judge_text": v.text} for v in self.verdicts]


async def judge_equivalence(
    judge: Judge,
    *,
    question: str,
    expected: str,
    generated: str,
    swap: bool = False,
    system: str | None = JUDGE_EQUIVALENCE_SYSTEM,
    template: str = JUDGE_EQUIVALENCE_PROMPT,
    equal_label: str = JUDGE_EQUAL,
) -> Equivalence:
    """Ask `judge` whether `generated` answers `question` as `expected` does.

    `template` has the fields `{question}`, `{expected_answer}` (shown as A) and `{generated_answer}`
    (B), as NeMo Gym's judge prompts do. With `swap`, an "equal" verdict is asked again with the two
    answers swapped, and they are equal only if both verdicts say so: a judge that favours one
    position cannot pass a wrong answer. `equal_label` is the judge's label for "equivalent".
    """
    prompt = template.format(question=question, expected_answer=expected, generated_answer=generated)
    first = await judge.ask(prompt, system=system)
    if first.label != equal_label or not swap:
        return Equivalence(first.label == equal_label, (first,))
    swapped = template.format(question=question, expected_answer=generated, generated_answer=expected)
    second = await judge.ask(swapped, system=system)
    return Equivalence(second.label == equal_label, (first, second))


def judge_failed(error: JudgeError) -> dict[str, Any]:
    """A verify result for a judge that failed: NeMo Gym's contract, which collectors record as a failure."""
    return contract.judge_failed(str(error))


def last_user_text(params: ResponseCreateParams) -> str:
    """The text of the prompt's last user message: the question a judge is shown when a row names none."""
    if isinstance(params.input, str):
        return params.input
    for item in reversed(params.input):
        if getattr(item, "role", None) == "user":
            content = getattr(item, "content", None)
            if isinstance(content, str):
                return content
            return "\n".join(str(getattr(part, "text", "")) for part in content or () if getattr(part, "text", None))
    return ""


class JudgeSettings(BaseModel):
    """The `judge_*` settings of an environment config that can grade with an LLM judge (a mixin).

    NeMo Gym names its judge with `judge_model_server` (a model server of the same config); gymhall
    cannot reach one from inside a resources server yet, so `judge_model` names it as a spec string.
    """

    judge_model: str | None = None  # e.g. openai:gpt-4.1-mini, or http://host:8000/v1#Qwen/Qwen3-8B
    judge_api: Literal["responses", "chat"] = "responses"
    # Sampling and other create params sent with every judge prompt (NeMo Gym's name); `input` is ignored.
    judge_responses_create_params: dict[str, Any] = Field(default_factory=dict)
    judge_max_concurrency: int = Field(default=16, gt=0)
    judge_timeout_seconds: float = Field(default=60.0, gt=0)
    judge_cache_size: int = Field(default=4096, ge=0)
    judge_swap_check: bool = False  # ask "equal" verdicts again with the answers swapped

    @field_validator("judge_model")
    @classmethod
    def _check_spec(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and value.strip() == "replay":
            raise ValueError("the replay model plays reference solutions and cannot judge; name a real model")
        return value
