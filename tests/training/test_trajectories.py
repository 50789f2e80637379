"""Token sequences rebuilt from rollouts: joined exactly, turn by turn, and drift named, never papered over.

The end-to-end tests run real rollouts: gymhall's Agent over HTTP to the fake OpenAI server, which
tokenizes the conversation it is sent with a real (trained-here) tokenizer, as vLLM does. The fake
records what each model call saw; the trainer's sequence must contain exactly that at each turn.
"""

from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from tokenizers import Tokenizer

from gymhall import (
    Agent,
    BaseSeedSessionRequest,
    BaseVerifyRequest,
    ChatCompletionsModel,
    Environment,
    OpenAIResponsesModel,
    rollout_samples,
    tool,
)
from gymhall.models.base import Model
from gymhall.models.fake_policy import ChatTemplate
from gymhall.testing import FakeOpenAI, FakeRequest, ToolCall, Turn, client_for, make_row, serve_in_thread
from gymhall.training.trajectories import (
    CAPTURE_INCOMPLETE,
    NO_TOKEN_IDS,
    TOKEN_DRIFT,
    TOKEN_FIELDS_INVALID,
    TokenProblem,
    TokenTrajectory,
    token_trajectory,
)


class CounterRow(BaseSeedSessionRequest):
    initial_count: int = 0


@dataclass
class CounterState:
    value: int


class Counter(Environment):
    async def seed_session(self, row: CounterRow) -> CounterState:
        return CounterState(row.initial_count)

    @tool
    async def increment(self, state: CounterState, by: int) -> dict[str, int]:
        """Add `by` to the counter and return its new value."""
        state.value += by
        return {"value": state.value}

    async def verify(self, state: CounterState, body: BaseVerifyRequest) -> float:
        return float(body.response.output_text.strip() == str(state.value))


def thinking_counter(request: FakeRequest) -> Turn:
    """Two increments, then the count; every turn thinks first (reasoning a template may drop)."""
    if request.turn_index < 2:
        return Turn(reasoning=f"step {request.turn_index}", tool_calls=[ToolCall("increment", {"by": 1})])
    output = request.last_tool_output()
    assert output is not None
    return Turn(reasoning="done", text=str(orjson.loads(output)["value"]))


def item(prompt: list[int], generation: list[int], log_probs: list[float] | None = None) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "prompt_token_ids": prompt,
        "generation_token_ids": generation,
        "generation_log_probs": log_probs if log_probs is not None else [-0.5] * len(generation),
    }


TOOL_OUTPUT = {"type": "function_call_output", "call_id": "c1", "output": "4"}


def test_two_calls_join_into_one_sequence_with_tool_tokens_masked() -> None:
    items = [item([1, 2, 3], [10, 11], [-0.1, -0.2]), TOOL_OUTPUT, item([1, 2, 3, 10, 11, 7, 8], [12], [-0.3])]
    trajectory = token_trajectory(items)
    assert isinstance(trajectory, TokenTrajectory)
    assert trajectory.prompt_ids == [1, 2, 3]
    assert trajectory.completion_ids == [10, 11, 7, 8, 12]
    assert trajectory.loss_mask == [1, 1, 0, 0, 1]
    assert trajectory.logprobs == [-0.1, -0.2, 0.0, 0.0, -0.3]
    assert trajectory.generation_starts == [3, 7]
    assert trajectory.num_turns == 2


def test_a_prompt_that_does_not_extend_the_history_is_drift_naming_the_call_and_position() -> None:
    items = [item([1, 2, 3], [10, 11]), TOOL_OUTPUT, item([1, 2, 3, 10, 99, 7], [12])]
    problem = token_trajectory(items)
    assert isinstance(problem, TokenProblem)
    assert problem.kind == TOKEN_DRIFT
    assert "model call 2" in problem.reason
    assert "position 4" in problem.reason


@pytest.mark.parametrize(
    ("items", "kind"),
    [
        ([{"type": "message", "role": "assistant", "content": []}], NO_TOKEN_IDS),
        ([], NO_TOKEN_IDS),
        ([item([1], [2]), TOOL_OUTPUT, {"type": "function_call", "name": "f", "arguments": "{}"}], CAPTURE_INCOMPLETE),
        ([item([1], [2, 3], [-0.1])], TOKEN_FIELDS_INVALID),
        ([item([1], [2], [float("nan")])], TOKEN_FIELDS_INVALID),
        ([{"type": "message", "role": "assistant", "prompt_token_ids": [1]}], TOKEN_FIELDS_INVALID),
        ([item([1], ["2"])], TOKEN_FIELDS_INVALID),  # type: ignore[list-item]
    ],
)
def test_rollouts_without_exact_tokens_are_problems_of_the_right_kind(items: list[Any], kind: str) -> None:
    problem = token_trajectory(items)
    assert isinstance(problem, TokenProblem)
    assert problem.kind == kind


def _model(dialect: str, url: str) -> Model:
    if dialect == "chat":
        return ChatCompletionsModel("fake-model", base_url=url + "/v1", return_token_ids=True, max_retries=0)
    return OpenAIResponsesModel("fake-model", base_url=url + "/v1", max_retries=0)


async def _run(fake: FakeOpenAI, dialect: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with serve_in_thread(fake) as url:
        async with client_for(Counter()) as env:
            agent = Agent(env, _model(dialect, url))
            return [await agent.run(row) for row in rows]


def _rows(count: int) -> list[dict[str, Any]]:
    rows = []
    for task in range(count):
        prompt = f"A counter starts at {task}. Add 1 twice with the increment tool, then reply with the value."
        rows.append({**make_row(prompt, initial_count=task), "_ng_task_index": task, "_ng_rollout_index": 0})
    return rows


@pytest.mark.parametrize("dialect", ["responses", "chat"])
async def test_the_trainers_sequence_is_what_the_model_saw_at_every_turn(tokenizer: Tokenizer, dialect: str) -> None:
    fake = FakeOpenAI(thinking_counter, token_ids=lambda text: tokenizer.encode(text).ids)
    lines = await _run(fake, dialect, _rows(3))
    assert [line["reward"] for line in lines] == [1.0, 1.0, 1.0]
    samples = rollout_samples(lines)
    seen = {tuple(r.prompt_token_ids or ()): r.generation_token_ids for r in fake.requests}
    assert len(seen) == 9  # three rollouts of three model calls, each prompt different
    for sample in samples:
        assert not sample.mask_sample, sample.failure_reason
        assert sample.num_turns == 3
        sequence = sample.prompt_ids + sample.completion_ids
        for start in sample.generation_starts:
            prompt = tuple(sequence[:start])
            assert prompt in seen, "the sequence up to a turn is not a prompt the model was given"
            generation = seen.pop(prompt)
            assert generation is not None
            assert sequence[start : start + len(generation)] == generation
        generated = [t for t, bit in zip(sample.completion_ids, sample.loss_mask, strict=True) if bit]
        assert tokenizer.decode(generated, skip_special_tokens=False).count("<|im_end|>") == 3
        assert "increment" in tokenizer.decode(generated, skip_special_tokens=False)
        tool_tokens = [t for t, bit in zip(sample.completion_ids, sample.loss_mask, strict=True) if not bit]
        assert '"value":' in tokenizer.decode(tool_tokens, skip_special_tokens=False)  # tool outputs: mask 0
        assert all(lp < 0 for lp, bit in zip(sample.logprobs, sample.loss_mask, strict=True) if bit)
    assert not seen, "a model call is missing from the trainer's sequences"


@pytest.mark.parametrize("dialect", ["responses", "chat"])
async def test_a_template_that_drops_earlier_reasoning_is_detected_and_masked(
    tokenizer: Tokenizer, dialect: str
) -> None:
    fake = FakeOpenAI(
        thinking_counter,
        token_ids=lambda text: tokenizer.encode(text).ids,
        template=ChatTemplate(keep_reasoning=False),
    )
    lines = await _run(fake, dialect, _rows(2))
    assert all(line["status"] == "ok" for line in lines)  # the rollout itself went fine: only its tokens drift
    for sample in rollout_samples(lines):
        assert sample.mask_sample
        assert sample.failure_kind == TOKEN_DRIFT
        assert sample.failure_reason is not None and "model call 2" in sample.failure_reason
        assert sample.loss_mask == [] and sample.reward == 0.0
