"""TRL's GRPOTrainer trains through a gymhall environment: rewards from verify, failed rollouts masked out.

On CPU, with no download: a tiny causal LM with random weights built from a config, the tokenizer trained
in conftest, the environment in process, and the fake OpenAI server (over HTTP) playing the policy with
that tokenizer's token ids. Two optimizer steps; the inputs of each loss computation are recorded by a
subclass that only observes them (TRL itself is not patched).
"""

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import torch
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from trl import GRPOConfig, GRPOTrainer

from gymhall import Agent, BaseSeedSessionRequest, BaseVerifyRequest, ChatCompletionsModel, Environment, tool
from gymhall.testing import FakeOpenAI, FakeRequest, ToolCall, Turn, client_for, make_row, serve_in_thread
from gymhall.training.trl import GymhallRollouts, grpo_dataset


class CounterRow(BaseSeedSessionRequest):
    initial_count: int = 0
    target: int = 0


@dataclass
class CounterState:
    value: int
    target: int


class Counter(Environment):
    async def seed_session(self, row: CounterRow) -> CounterState:
        return CounterState(row.initial_count, row.target)

    @tool
    async def increment(self, state: CounterState, by: int) -> dict[str, int]:
        """Add `by` to the counter and return its new value."""
        if by == 3:
            raise RuntimeError("the counter broke")  # a 500: the rollout fails, it is not scored
        state.value += by
        return {"value": state.value}

    async def verify(self, state: CounterState, body: BaseVerifyRequest) -> float:
        return float(state.value == state.target and body.response.output_text.strip() == str(state.value))


def alternating_policy() -> Any:
    """Each new conversation increments by the next of 1, 2, 1, 3: rewards 1, 0, 1 and one failed rollout."""
    steps = itertools.cycle([1, 2, 1, 3])

    def policy(request: FakeRequest) -> Turn:
        if request.turn_index == 0:
            return Turn(tool_calls=[ToolCall("increment", {"by": next(steps)})])
        output = request.last_tool_output()
        return Turn(text=str(orjson.loads(output or "{}").get("value")))

    return policy


class ObservedGRPOTrainer(GRPOTrainer):  # type: ignore[misc]
    """GRPOTrainer that keeps the inputs of each loss computation (advantages, masks)."""

    seen: list[dict[str, Any]]

    def _compute_loss(self, model: Any, inputs: dict[str, Any]) -> Any:
        self.seen.append({k: v.detach().clone() for k, v in inputs.items() if isinstance(v, torch.Tensor)})
        return super()._compute_loss(model, inputs)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_grpo_trains_on_gymhall_rewards_and_masks_failed_rollouts(
    tokenizer: Tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    torch.manual_seed(0)
    hf_tokenizer = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<pad>")
    config = LlamaConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=hf_tokenizer.pad_token_id,
        eos_token_id=hf_tokenizer.eos_token_id,
        bos_token_id=None,
    )
    model = LlamaForCausalLM(config)
    before = [p.detach().clone() for p in model.parameters()]
    rows = [
        make_row(f"A counter starts at {n}. Add 1 with the increment tool.", initial_count=n, target=n + 1)
        for n in (3, 7)
    ]
    fake = FakeOpenAI(alternating_policy(), token_ids=lambda text: tokenizer.encode(text).ids)
    args = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        num_generations=4,
        max_steps=2,
        learning_rate=1e-2,
        beta=0.0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        dataloader_num_workers=0,
        seed=0,
    )
    with serve_in_thread(fake) as url:
        model_backend = ChatCompletionsModel("fake-model", base_url=url + "/v1", return_token_ids=True, max_retries=0)
        gym = GymhallRollouts(Agent(client_for(Counter()), model_backend), concurrency=4, max_attempts=1)
        trainer = ObservedGRPOTrainer(
            model=model,
            processing_class=hf_tokenizer,
            reward_funcs=gym.reward,
            rollout_func=gym,
            train_dataset=grpo_dataset(rows),
            args=args,
        )
        trainer.seen = []
        try:
            trainer.train()
        finally:
            gym.close()

    assert trainer.state.global_step == 2
    assert len(trainer.seen) == 2  # one loss computation per optimizer step
    for inputs in trainer.seen:
        advantages, env_mask, completion_mask = inputs["advantages"], inputs["tool_mask"], inputs["completion_mask"]
        assert advantages.shape == (4,)
        loss_tokens = (env_mask * completion_mask).sum(dim=1)
        failed = [i for i in range(4) if loss_tokens[i] == 0]
        assert len(failed) == 1, "exactly one rollout of each group failed and is masked"
        (masked,) = failed
        assert advantages[masked] == 0.0  # and it carries no advantage: it contributes nothing to the loss
        kept = [i for i in range(4) if i != masked]
        assert all(advantages[i] != 0.0 for i in kept)  # rewards 1, 0, 1 differ: every kept rollout has signal
        assert sorted(float(a) > 0 for a in advantages[kept]) == [False, True, True]
        # tool outputs are in the completion but outside the loss
        assert all(env_mask[i, : int(completion_mask[i].sum())].min() == 0 for i in kept)
    lines = gym.last_lines
    assert sorted(line["status"] for line in lines) == ["failed", "ok", "ok", "ok"]
    assert sorted(line.get("reward", -1.0) for line in lines) == [-1.0, 0.0, 1.0, 1.0]
    failed_sample = next(s for s in gym.last_samples if s.mask_sample)
    assert failed_sample.failure_kind is not None and failed_sample.failure_reason
    after = list(model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True)), "the optimizer did not step"
